terraform {
  required_version = ">= 1.9"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100, < 7.0"
    }
  }

  # Partial configuration, e.g. the prod state bucket with its own key:
  # terraform init -backend-config=../envs/prod/backend.hcl -backend-config=key=bootstrap/terraform.tfstate
  backend "s3" {}
}

provider "aws" {
  region      = var.region
  max_retries = var.max_retries

  default_tags {
    tags = {
      project     = local.project
      environment = "shared"
      managed-by  = "terraform"
    }
  }
}
