"""Lambda layers: versions of shared content that functions see under ``/opt``.

``model`` (pure validation and wire shapes), ``repo`` (SQL), ``service`` (use cases,
including the merged ``/opt`` directory of a function). Routes live in
``lambdahost.api.routes.layers``.
"""
