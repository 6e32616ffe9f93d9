# Written by scripts/bootstrap_backend.py (make bootstrap-backend ENV=prod).
# terraform -chdir=infra/stack init -backend-config=../envs/prod/backend.hcl
bucket         = "storefront-prod-tfstate-eu-west-1"
key            = "stack/terraform.tfstate"
region         = "eu-west-1"
dynamodb_table = "storefront-prod-tflock"
encrypt        = true
