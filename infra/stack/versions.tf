terraform {
  required_version = ">= 1.9"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100, < 7.0"
    }
  }

  # Partial configuration: bucket, key, region and lock table come from infra/envs/<env>/backend.hcl
  # (written by scripts/bootstrap_backend.py): terraform init -backend-config=../envs/<env>/backend.hcl
  backend "s3" {}
}
