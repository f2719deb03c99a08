"""An S3-compatible server on loopback for the tests: moto's S3 with IAM-checked keys.

It stands in for AWS S3, MinIO or R2: DVC reaches it through the remote's `endpointurl`,
exactly as a fork's CI reaches an S3-compatible store. Keys are checked like the real
service's (an unknown key id or a wrong secret is refused), so the tests can tell missing
and rejected credentials apart from a working set.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
from moto import settings as moto_settings
from moto.server import ThreadedMotoServer

REGION = "us-east-1"
# Everything the DVC remote needs in a bucket, nothing more.
POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
}


@dataclass(frozen=True)
class S3:
    endpoint: str  # http://127.0.0.1:<port>
    bucket: str
    access_key_id: str
    secret_access_key: str

    def url(self, prefix: str) -> str:
        return f"s3://{self.bucket}/{prefix}"

    def env(self, prefix: str) -> dict[str, str]:
        """The variables a CI step gets from the secrets: remote, endpoint and keys."""
        return {
            "DVC_REMOTE_URL": self.url(prefix),
            "DVC_REMOTE_ENDPOINT": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_DEFAULT_REGION": REGION,
        }

    def client(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
        )

    def keys(self, prefix: str) -> list[str]:
        """Every object stored under a prefix, read with the bucket's key."""
        pages = (
            self.client()
            .get_paginator("list_objects_v2")
            .paginate(Bucket=self.bucket, Prefix=f"{prefix}/")
        )
        return [obj["Key"] for page in pages for obj in page.get("Contents", [])]

    def read(self, key: str) -> bytes:
        return bytes(self.client().get_object(Bucket=self.bucket, Key=key)["Body"].read())


@contextmanager
def s3_server(bucket: str = "churn-dvc-cache") -> Iterator[S3]:
    """Start the server on a free loopback port, make a bucket and a key for it, then stop."""
    # One log line per request would bury a failing test's own output.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        # Until authentication is switched on below, moto accepts any key: set-up only.
        setup = {
            "endpoint_url": endpoint,
            "region_name": REGION,
            "aws_access_key_id": "setup",
            "aws_secret_access_key": "setup",
        }
        iam = boto3.client("iam", **setup)
        iam.create_user(UserName="ci")
        iam.put_user_policy(UserName="ci", PolicyName="dvc", PolicyDocument=json.dumps(POLICY))
        key = iam.create_access_key(UserName="ci")["AccessKey"]
        boto3.client("s3", **setup).create_bucket(Bucket=bucket)
        # From here on every request must be signed with a key IAM knows.
        request = urllib.request.Request(  # noqa: S310 (http on loopback)
            f"{endpoint}/moto-api/reset-auth",
            data=b"0",
            method="POST",
            headers={"Content-Type": "text/plain"},
        )
        with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310 (loopback)
            resp.read()
        yield S3(endpoint, bucket, key["AccessKeyId"], key["SecretAccessKey"])
    finally:
        server.stop()
        # The switch lives in this process (the server is a thread): leave moto as found.
        moto_settings.INITIAL_NO_AUTH_ACTION_COUNT = float("inf")
