"""Fork: the example model package, what a fork replaces.

The data contract (contract.yaml), its rule hooks (rules.py), the estimators (model.py),
extra features (features.py) and the demo batch's shift (demo.py). The machinery reaches
this package only through the names contract.yaml and params.yaml give.
"""
