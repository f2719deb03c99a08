"""What the model wheel ships: the model verified against its manifest, scored in batches
(`churn predict`) or over HTTP (`churn serve`), described (`churn info`). Driven by the
data contract and the serving settings packaged with the model."""
