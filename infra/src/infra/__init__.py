"""tgscale infra: Pulumi components that build an environment for the bot."""
