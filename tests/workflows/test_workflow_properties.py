"""Security and cost properties every workflow must keep, asserted on the YAML itself."""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops.actions.workflows import load, run_steps, workflow_files
from support import ROOT

WORKFLOWS = workflow_files(ROOT / ".github/workflows")
PARAMS = yaml.safe_load((ROOT / "params.yaml").read_text())
IDS = [p.name for p in WORKFLOWS]
USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(\S+)(.*)$")
PINNED = re.compile(r"[\w.-]+/[\w.-]+(?:/[\w./-]+)?@[0-9a-f]{40}")
VERSION_COMMENT = re.compile(r"\s+#\s*v\d+(?:\.\d+){0,2}\s*$")
# Targets other parts of the project add; checked as soon as they are in the Makefile.


def wf(name: str) -> dict[str, Any]:
    return load(ROOT / ".github/workflows" / name)


def steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for job in workflow["jobs"].values() for s in job.get("steps", [])]


def uses_of(workflow: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [s for s in steps(workflow) if str(s.get("uses", "")).startswith(action + "@")]


def test_all_expected_workflows_exist() -> None:
    names = set(IDS)
    expected = {"ci.yml", "pr-comment.yml", "release.yml", "deploy.yml"}
    assert expected | {"train-cloud.yml", "lint-workflows.yml"} <= names


@pytest.mark.parametrize("path", WORKFLOWS, ids=IDS)
def test_every_action_is_pinned_to_a_commit_with_its_version(path: Path) -> None:
    found = 0
    for n, line in enumerate(path.read_text().splitlines(), start=1):
        m = USES_LINE.match(line)
        if not m:
            continue
        found += 1
        ref, rest = m.groups()
        if ref.startswith("./"):
            continue
        if ref.startswith("docker://"):
            assert "@sha256:" in ref, f"{path.name}:{n}: docker image not pinned by digest"
            continue
        assert PINNED.fullmatch(ref), f"{path.name}:{n}: {ref} is not pinned to a 40-char SHA"
        assert VERSION_COMMENT.match(rest), f"{path.name}:{n}: no '# vX.Y.Z' comment after {ref}"
    assert found, f"{path.name} uses no action at all"


def test_one_action_one_pin_across_workflows() -> None:
    pins: dict[str, set[str]] = {}
    for path in WORKFLOWS:
        for line in path.read_text().splitlines():
            m = USES_LINE.match(line)
            if m and "@" in m.group(1):
                action, _, sha = m.group(1).partition("@")
                pins.setdefault(action, set()).add(f"{sha} {m.group(2).strip()}")
    mixed = {a: p for a, p in pins.items() if len(p) > 1}
    assert not mixed, f"actions pinned differently in different workflows: {mixed}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=IDS)
def test_permissions_are_empty_at_top_and_explicit_on_every_job(path: Path) -> None:
    workflow = load(path)
    assert workflow.get("permissions") == {}, f"{path.name}: top-level permissions must be {{}}"
    for job_id, job in workflow["jobs"].items():
        assert "permissions" in job, f"{path.name} job {job_id}: no permissions block"
        assert job.get("timeout-minutes"), f"{path.name} job {job_id}: no timeout-minutes"


@pytest.mark.parametrize("path", WORKFLOWS, ids=IDS)
def test_no_pull_request_target_and_no_expressions_in_scripts(path: Path) -> None:
    workflow = load(path)
    assert "pull_request_target" not in workflow["on"], path.name
    assert "pull_request_target" not in path.read_text(), path.name
    for step in run_steps(path):
        # Data reaches scripts through env: only; an expression in a script is injectable.
        assert "${{" not in step.script, f"{path.name} job {step.job} '{step.step}'"


def test_every_zizmor_ignore_gives_its_reason() -> None:
    ignores = 0
    for path in WORKFLOWS:
        for n, line in enumerate(path.read_text().splitlines(), start=1):
            m = re.search(r"zizmor: ignore\[[\w,-]+\](.*)$", line)
            if m:
                ignores += 1
                assert len(m.group(1).split()) >= 4, f"{path.name}:{n}: ignore without a reason"
    assert ignores == 2  # the two workflow_run triggers, each explained on its line


@pytest.mark.parametrize("path", WORKFLOWS, ids=IDS)
def test_checkouts_never_keep_credentials(path: Path) -> None:
    for step in uses_of(load(path), "actions/checkout"):
        assert step.get("with", {}).get("persist-credentials") is False, path.name


def scripts_of(job: dict[str, Any]) -> list[str]:
    return [s.get("run", "") for s in job["steps"]]


def test_ci_reports_without_waiting_for_tests_and_fails_after_uploading() -> None:
    ci = wf("ci.yml")
    assert set(ci["on"]) == {"pull_request", "push", "workflow_dispatch"}
    assert ci["on"]["push"]["branches"] == ["main"]
    assert "cancel-in-progress" in ci["concurrency"]
    assert "pull_request.number" in ci["concurrency"]["group"]
    assert set(ci["jobs"]) == {"report", "lint", "test"}
    for job_id, job in ci["jobs"].items():
        assert "needs" not in job, f"ci.yml job {job_id} must not wait for another job"
        assert job["permissions"] == {"contents": "read"}
    report = ci["jobs"]["report"]
    (checkout,) = [s for s in report["steps"] if s.get("uses", "").startswith("actions/checkout@")]
    assert checkout["with"]["fetch-depth"] == 2
    for uv in uses_of(ci, "astral-sh/setup-uv"):
        assert uv["with"]["enable-cache"] is True
        assert uv["with"]["cache-dependency-glob"] == "uv.lock"
    scripts = scripts_of(report)
    assert not any("make test" in s for s in scripts), "the report never waits for tests"
    order = ["make ci-metadata", "make pull-cache", "make run", "make report BASE=HEAD^1"]
    positions = [next(i for i, s in enumerate(scripts) if cmd in s) for cmd in order]
    assert positions == sorted(positions)
    names = [s.get("uses", "").split("@")[0] for s in report["steps"]]
    upload = names.index("actions/upload-artifact")
    assert report["steps"][upload]["if"] == "always()"
    assert report["steps"][upload]["with"]["name"] == "pr-report"
    assert set(report["steps"][upload]["with"]["path"].split()) == {
        "reports/ci_metadata.json",
        "reports/pr_report.md",
        "reports/pr_report.json",
    }
    last = report["steps"][-1]
    assert "exit 1" in last["run"]
    assert "steps.report.outputs.status" in last["if"]
    assert upload < len(report["steps"]) - 1
    assert scripts_of(ci["jobs"]["lint"])[-1] == "make lint"
    assert scripts_of(ci["jobs"]["test"])[-1] == "make tests"


def test_make_test_is_lint_then_the_tests_ci_runs() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^test: lint tests\b", makefile, re.MULTILINE)
    assert recipe(makefile, "tests").strip() == "$(PYTEST) $(XDIST)"


def test_secrets_reach_only_the_steps_that_need_them() -> None:
    for path in WORKFLOWS:
        workflow = load(path)
        assert "secrets." not in str(workflow.get("env", "")), f"{path.name}: workflow-level env"
        for job_id, job in workflow["jobs"].items():
            assert "secrets." not in str(job.get("env", "")), f"{path.name} {job_id}: job env"
            for step in job.get("steps", []):
                outside_env = {k: v for k, v in step.items() if k != "env"}
                assert "secrets." not in str(outside_env), f"{path.name} {job_id}: {step}"


def test_pr_comment_never_touches_pr_code() -> None:
    comment = wf("pr-comment.yml")
    assert list(comment["on"]) == ["workflow_run"]
    assert comment["on"]["workflow_run"]["workflows"] == ["CI"]
    (job,) = comment["jobs"].values()
    assert set(job["permissions"].items()) <= {
        ("actions", "read"),
        ("contents", "read"),
        ("pull-requests", "write"),
    }
    assert "workflow_run.event == 'pull_request'" in job["if"]
    for checkout in uses_of(comment, "actions/checkout"):
        assert not {"ref", "repository"} & set(checkout.get("with", {})), "checks out PR code"
    for step in job["steps"]:
        script = step.get("run", "")
        assert not re.search(r"\b(make|uv|pip|npm|dvc|pytest)\b", script), script
    (download,) = uses_of(comment, "actions/download-artifact")
    assert download["with"]["run-id"] == "${{ github.event.workflow_run.id }}"
    assert download["with"]["github-token"]
    assert download["with"]["path"].startswith("${{ runner.temp }}")
    scripts = "\n".join(s.get("run", "") for s in job["steps"])
    assert "gitops.actions.artifact verify" in scripts
    assert '--conclusion "${RUN_CONCLUSION}"' in scripts.replace(
        "$RUN_CONCLUSION", "${RUN_CONCLUSION}"
    )
    # Our own comment step, not CML's (first page only, any author): see gitops.actions.comment.
    assert not uses_of(comment, "iterative/setup-cml")
    assert not re.search(r"\b(cml|gh)\b", scripts)
    post = job["steps"][-1]
    assert post["run"].startswith("python3 -m gitops.actions.comment post")
    assert post["env"]["PYTHONPATH"] == "src"
    assert post["env"]["GH_TOKEN"] == "${{ github.token }}"  # noqa: S105 (an expression)
    assert "conclusion == 'failure'" in job["if"], "a failed run still gets its comment"


def setup_uv_steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return uses_of(workflow, "astral-sh/setup-uv")


@pytest.mark.parametrize("name", ["release.yml", "deploy.yml", "train-cloud.yml"])
def test_release_jobs_restore_no_cache(name: str) -> None:
    workflow = wf(name)
    assert not uses_of(workflow, "actions/cache")
    for step in setup_uv_steps(workflow):
        assert step["with"]["enable-cache"] is False, name


def step_index(job: dict[str, Any], found: str) -> int:
    """The index of the one step whose `run` or `uses` contains `found`."""
    hits = [i for i, s in enumerate(job["steps"]) if found in s.get("run", "") + s.get("uses", "")]
    assert len(hits) == 1, f"{len(hits)} steps match {found!r}"
    return hits[0]


def test_release_runs_only_after_ci_passed_on_main_in_three_jobs() -> None:
    release = wf("release.yml")
    assert release["on"]["workflow_run"]["workflows"] == ["CI"]
    assert list(release["jobs"]) == ["release", "image", "publish"]
    tag, image, publish = (release["jobs"][j] for j in ("release", "image", "publish"))
    for condition in (
        # `success` only when every CI job (report, lint, tests) passed.
        "workflow_run.conclusion == 'success'",
        "workflow_run.event == 'push'",
        "workflow_run.head_branch == 'main'",
        "head_repository.full_name == github.repository",
    ):
        assert condition in tag["if"]
    # The approval (if the environment has reviewers) is asked once, before the tag; the
    # other jobs can only run after it, on its outputs.
    assert tag["environment"] == "release"
    assert "environment" not in image
    assert "environment" not in publish
    assert image["needs"] == "release"
    assert publish["needs"] == ["release", "image"]
    for job in (image, publish):
        assert job["if"] == "needs.release.outputs.release == 'true'"
    assert tag["outputs"] == {
        key: f"${{{{ steps.release.outputs.{key} }}}}" for key in ("release", "tag", "version")
    }
    assert tag["permissions"] == {"contents": "write"}
    assert image["permissions"] == {
        "contents": "read",
        "packages": "write",
        "id-token": "write",
        "attestations": "write",
    }
    assert publish["permissions"] == {
        "contents": "write",
        "id-token": "write",
        "attestations": "write",
    }
    assert "gh release create" not in json.dumps(release)


def test_the_release_job_decides_then_tags_and_hands_dist_on() -> None:
    job = wf("release.yml")["jobs"]["release"]
    at = {
        "decide": step_index(job, "gitops.actions.publish decide"),
        "run": step_index(job, "make run"),
        "tag": step_index(job, "make release PUSH=1"),
        "upload": step_index(job, "actions/upload-artifact@"),
    }
    assert list(at) == sorted(at, key=at.get), "decide, reproduce, tag, then hand dist/ on"
    steps = job["steps"]
    assert "workflow_run.head_sha" in steps[at["decide"]]["env"]["HEAD_SHA"]
    tag_env = steps[at["tag"]]["env"]
    for who in ("AUTHOR", "COMMITTER"):
        assert tag_env[f"GIT_{who}_NAME"] == "github-actions[bot]"
        assert tag_env[f"GIT_{who}_EMAIL"].endswith("@users.noreply.github.com")
    for key in ("run", "tag"):
        assert "steps.decide.outputs.action" in steps[at[key]]["if"]
    upload = steps[at["upload"]]
    assert upload["if"] == "steps.release.outputs.release == 'true'"
    assert upload["with"]["name"] == "dist"
    assert upload["with"]["path"].rstrip("/") == PARAMS["release"]["dist"]
    assert upload["with"]["overwrite"] is True, "a re-run of the job uploads dist again"
    assert not uses_of({"jobs": {"release": job}}, "actions/attest-build-provenance")


def test_only_the_image_job_pushes_and_its_attestations_name_the_pushed_digest() -> None:
    job = wf("release.yml")["jobs"]["image"]
    steps = job["steps"]
    at = {
        "download": step_index(job, "actions/download-artifact@"),
        "build": step_index(job, "make image IMAGE_ENGINE=podman"),
        "login": step_index(job, "docker/login-action@"),
        "push": step_index(job, "make image-push"),
        "sbom": step_index(job, "anchore/sbom-action@"),
        "upload": step_index(job, "actions/upload-artifact@"),
    }
    assert list(at) == sorted(at, key=at.get)
    assert steps[at["download"]]["with"] == {"name": "dist", "path": PARAMS["release"]["dist"]}
    assert steps[at["login"]]["with"]["registry"] == "ghcr.io"
    assert steps[at["login"]]["with"]["password"] == "${{ github.token }}"  # noqa: S105
    assert steps[at["push"]]["id"] == "push"
    sbom = steps[at["sbom"]]["with"]
    assert sbom["image"] == "${{ steps.push.outputs.reference }}", "the SBOM of the digest"
    assert sbom["output-file"] == PARAMS["image"]["sbom"]
    assert sbom["format"] == "spdx-json"
    for off in ("upload-artifact", "upload-release-assets", "dependency-snapshot"):
        assert sbom[off] is False, f"the SBOM reaches the release through publish, not {off}"
    attests = [i for i, s in enumerate(steps) if s.get("uses", "").startswith("actions/attest@")]
    assert len(attests) == 2
    for i in attests:
        given = steps[i]["with"]
        assert at["push"] < i < at["upload"]
        assert given["subject-name"] == "${{ steps.push.outputs.repository }}"
        assert given["subject-digest"] == "${{ steps.push.outputs.digest }}"
        assert given["push-to-registry"] is True
    provenance, sbom_attest = (steps[i]["with"] for i in attests)
    assert "sbom-path" not in provenance
    assert "predicate-type" not in provenance
    assert sbom_attest["sbom-path"] == PARAMS["image"]["sbom"]
    assert at["sbom"] < attests[1]
    upload = steps[at["upload"]]["with"]
    assert upload["name"] == "image"
    assert set(upload["path"].split()) == {PARAMS["image"]["record"], PARAMS["image"]["sbom"]}
    assert upload["overwrite"] is True


def test_publish_attests_and_names_the_image_before_the_release_is_published() -> None:
    job = wf("release.yml")["jobs"]["publish"]
    steps = job["steps"]
    downloads = [
        s["with"] for s in steps if s.get("uses", "").startswith("actions/download-artifact@")
    ]
    dist = PARAMS["release"]["dist"]
    assert downloads == [{"name": "dist", "path": dist}, {"name": "image", "path": dist}]
    at = {
        "assets": step_index(job, "make image-assets"),
        "notes": step_index(job, "make image-notes"),
        "attest": step_index(job, "actions/attest-build-provenance@"),
        "publish": step_index(job, "gitops.actions.publish release"),
    }
    assert list(at) == sorted(at, key=at.get), (
        "the image's files join SHA256SUMS, the notes name its digest, every file is "
        "attested, and only then is the release published"
    )
    assert at["publish"] == len(steps) - 1
    assert steps[at["attest"]]["with"]["subject-checksums"] == f"{dist}/SHA256SUMS"
    publish = steps[at["publish"]]
    assert publish["env"]["TAG"] == "${{ needs.release.outputs.tag }}"
    assert f"--notes {PARAMS['release']['notes']}" in publish["run"]
    assert f"--dist {dist}" in publish["run"]


def test_only_the_image_job_may_write_packages() -> None:
    writers = [
        (path.name, job_id)
        for path in WORKFLOWS
        for job_id, job in load(path)["jobs"].items()
        if isinstance(job["permissions"], dict) and job["permissions"].get("packages") == "write"
    ]
    assert writers == [("release.yml", "image")]


def test_only_release_jobs_may_write_contents() -> None:
    """In release.yml only: the job in the `release` environment, or jobs that wait for it."""
    for path in WORKFLOWS:
        jobs = load(path)["jobs"]
        for job_id, job in jobs.items():
            perms = job["permissions"] if isinstance(job["permissions"], dict) else {}
            if perms.get("contents") != "write":
                continue
            assert path.name == "release.yml", f"{path.name} {job_id}"
            needs = job.get("needs", [])
            gates = [needs] if isinstance(needs, str) else needs
            gated = any(jobs[n].get("environment") == "release" for n in gates)
            assert job.get("environment") == "release" or gated, job_id


def test_deploy_hands_over_to_the_environment_named_by_a_declared_stage() -> None:
    deploy = wf("deploy.yml")
    assert "concurrency" not in deploy, "one queue per stage, not one for the whole workflow"
    job = deploy["jobs"]["deploy"]
    assert job["needs"] == "resolve"
    assert job["environment"]["name"] == "${{ needs.resolve.outputs.stage }}"
    assert job["concurrency"] == {
        "group": "deploy-${{ needs.resolve.outputs.stage }}",
        "cancel-in-progress": False,
    }
    scripts = "\n".join(s.get("run", "") for s in job["steps"])
    assert 'gh release download "${RELEASE_TAG}"' in scripts
    assert "make verify-release" in scripts
    assert job["permissions"] == {
        "contents": "read",
        "packages": "read",
        "attestations": "read",
    }
    resolve = "\n".join(s.get("run", "") for s in deploy["jobs"]["resolve"]["steps"])
    assert "gitops.actions.deploy resolve" in resolve
    # resolve refuses stages outside this list before anything reaches `environment:`.
    stages = yaml.safe_load((ROOT / ".gto").read_text())["stages"]
    assert stages == ["staging", "prod"]


def test_deploy_verifies_the_image_by_digest_before_handing_it_over() -> None:
    job = wf("deploy.yml")["jobs"]["deploy"]
    steps = job["steps"]
    at = {
        "verify-release": step_index(job, "make verify-release"),
        "resolve": step_index(job, "gitops.release.image resolve"),
        "login": step_index(job, "docker/login-action@"),
        "attestation": step_index(job, "gh attestation verify"),
        "handover": step_index(job, "gitops.actions.deploy handover"),
    }
    assert list(at) == sorted(at, key=at.get)
    assert at["handover"] == len(steps) - 1
    resolve = steps[at["resolve"]]
    assert resolve["id"] == "image"
    assert "--if-present" in resolve["run"], "releases made before images still deploy"
    for key in ("login", "attestation"):
        assert steps[at[key]]["if"] == "steps.image.outputs.image != ''"
    verify = steps[at["attestation"]]
    assert verify["env"]["IMAGE"] == "${{ steps.image.outputs.image }}"
    script = " ".join(verify["run"].split())
    assert 'gh attestation verify "oci://${IMAGE}" --repo "${GITHUB_REPOSITORY}"' in script
    assert '--signer-workflow "${GITHUB_REPOSITORY}/.github/workflows/release.yml"' in script
    # Promotion by digest: nothing in deploy pushes, tags or copies an image.
    scripts = "\n".join(s.get("run", "") for s in steps)
    assert not re.search(r"\b(podman|docker|skopeo|crane|oras)\b", scripts)
    assert not re.search(r"make image-push|image push", scripts)


@pytest.mark.parametrize("path", WORKFLOWS, ids=IDS)
def test_every_script_runs_in_bash_with_pipefail(path: Path) -> None:
    workflow = load(path)
    assert workflow["defaults"]["run"]["shell"] == "bash", path.name
    for step in run_steps(path):
        assert step.shell == "bash", f"{path.name} job {step.job} '{step.step}'"


@pytest.mark.parametrize("path", WORKFLOWS, ids=IDS)
def test_jobs_that_run_make_set_up_the_same_pinned_uv_first(path: Path) -> None:
    for job_id, job in load(path)["jobs"].items():
        steps = job.get("steps", [])
        uses = [str(s.get("uses", "")) for s in steps]
        makes = [i for i, s in enumerate(steps) if re.search(r"(^|\n)\s*make ", s.get("run", ""))]
        if not makes:
            continue
        setup = [i for i, u in enumerate(uses) if u.startswith("astral-sh/setup-uv@")]
        assert setup, f"{path.name} job {job_id}: runs make without setup-uv"
        assert setup[0] < makes[0], f"{path.name} job {job_id}: make before setup-uv"


def test_cloud_training_is_off_without_its_secret() -> None:
    train = wf("train-cloud.yml")
    assert list(train["on"]) == ["workflow_dispatch"]
    assert train["jobs"]["launch"]["if"] == "needs.check.outputs.enabled == 'true'"
    launch = train["jobs"]["launch"]["steps"][-1]["run"]
    for flag in ("cml runner launch", "--single", "--idle-timeout=", "--cloud-spot"):
        assert flag in launch


def test_uv_version_matches_the_makefile() -> None:
    makefile = (ROOT / "Makefile").read_text()
    (version,) = re.findall(r"^UV_VERSION \?= (\S+)$", makefile, re.MULTILINE)
    for path in WORKFLOWS:
        for step in setup_uv_steps(load(path)):
            assert step["with"]["version"] == version, path.name


def make_calls() -> list[tuple[str, str]]:
    calls = set()
    for path in WORKFLOWS:
        for step in run_steps(path):
            # `make` as a command: at a line start or after ;, &&, || (not inside a message).
            command = r"(?:^|&&|\|\||;)[ \t]*make((?:[ \t]+[\w.^-]+(?:=(?:\"[^\"]*\"|\S*))?)+)"
            for m in re.finditer(command, step.script, re.MULTILINE):
                words = re.sub(r"=\"[^\"]*\"", "=", m.group(1)).split()  # STEP="a b"
                for word in words:
                    if "=" not in word:
                        calls.add((path.name, word))
    return sorted(calls)


def test_make_calls_are_found_where_expected() -> None:
    calls = make_calls()
    assert {("ci.yml", t) for t in ("ci-metadata", "tests", "lint", "run", "report")} <= set(calls)
    assert {("release.yml", t) for t in ("release", "image", "image-push", "image-assets",
                                          "image-notes")} <= set(calls)  # fmt: skip
    assert ("deploy.yml", "verify-release") in calls


def recipe(makefile: str, target: str) -> str | None:
    m = re.search(rf"^{re.escape(target)}:.*\n((?:\t.*\n?)*)", makefile, re.MULTILINE)
    return m.group(1) if m else None


@pytest.mark.parametrize(("workflow", "target"), make_calls())
def test_make_targets_called_by_workflows_exist(workflow: str, target: str) -> None:
    body = recipe((ROOT / "Makefile").read_text(), target)
    assert body is not None, f"{workflow} calls `make {target}`, which the Makefile lacks"
    if "$(MAKE)" in body:
        # `make -n` still runs recipe lines that call $(MAKE): ask make's database instead.
        args = ["make", "-pRrq", target]
        expect = {0, 1}  # -q: up to date (0) or would run (1); 2 means an error
    else:
        args = ["make", "-n", target, "BASE=HEAD^1", "ASSETS=dist", "INPUT=x.csv"]
        expect = {0}
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode in expect, f"{workflow}: {' '.join(args)} failed:\n{proc.stderr}"
    if "-pRrq" in args:
        assert re.search(rf"^{re.escape(target)}:", proc.stdout, re.MULTILINE)


def test_the_report_job_installs_the_pipeline_group_and_times_its_steps() -> None:
    report = wf("ci.yml")["jobs"]["report"]
    assert report["env"]["DEPS"] == "pipeline", "every make target installs the pipeline alone"
    scripts = scripts_of(report)
    makes = [s for s in scripts if re.search(r"(^|\n)\s*make ", s)]
    assert "make install-pipeline" in makes[0], "the install is its own, timed, step"
    for script in makes[:-1]:
        assert script.lstrip().startswith("make timeline STEP="), script
    summary = [s for s in report["steps"] if s.get("run") == "make timeline-summary"]
    assert summary, "the job writes its timeline into the summary"
    assert summary[0]["if"] == "always()"
    makefile = (ROOT / "Makefile").read_text()
    assert "--no-default-groups --group pipeline" in recipe(makefile, "$(VENV)/.synced-pipeline")
    groups = tomllib.loads((ROOT / "pyproject.toml").read_text())["dependency-groups"]
    names = {re.split(r"[<>=\[ ]", d)[0] for d in groups["pipeline"]}
    assert {"dvc", "dvc-s3"} <= names
    assert {"include-group": "pipeline"} in groups["dev"]
