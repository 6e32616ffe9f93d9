provider "aws" {
  region      = var.region
  max_retries = var.max_retries

  # Every resource carries these; per-service resources add a `service` tag.
  default_tags {
    tags = {
      project     = local.project
      environment = var.environment
      managed-by  = "terraform"
    }
  }
}
