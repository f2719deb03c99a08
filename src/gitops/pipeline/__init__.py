"""The DVC stages (validate, split, train, evaluate, reference): thin command lines over pure
cores, driven by the data contract and params.yaml. A fork keeps them as they are."""
