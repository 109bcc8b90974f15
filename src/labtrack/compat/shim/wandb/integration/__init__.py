"""``wandb.integration``: framework integrations.

``wandb.integration.sklearn`` works (the plots of ``wandb.sklearn``); importing the
others raises an ImportError that names the integration, so libraries that try
them fall back to their own logging.
"""
