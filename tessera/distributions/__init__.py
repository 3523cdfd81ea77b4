"""``ts.distributions``: probability distributions with ``sample``/``rsample``, ``log_prob``, ``entropy`` and
``kl_divergence``, as in ``torch.distributions``."""

__all__: list[str] = []
