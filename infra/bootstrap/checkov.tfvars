# Read by checkov only (policies/.checkov.yaml), never by terraform: an example repository so the
# static analysis can evaluate the trust policies' subjects. The real value is given to
# `make bootstrap-plan GITHUB_REPOSITORY=owner/name`.
github_repository = "example-org/storefront-gitops"
