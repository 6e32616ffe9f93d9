# Written by scripts/bootstrap_backend.py (make bootstrap-backend ENV=dev).
# terraform -chdir=infra/stack init -backend-config=../envs/dev/backend.hcl
bucket         = "storefront-dev-tfstate-eu-west-1"
key            = "stack/terraform.tfstate"
region         = "eu-west-1"
dynamodb_table = "storefront-dev-tflock"
encrypt        = true
