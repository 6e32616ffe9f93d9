# Written by scripts/bootstrap_backend.py (make bootstrap-backend ENV=local).
# terraform -chdir=infra/stack init -backend-config=../envs/local/backend.hcl
bucket         = "storefront-local-tfstate-eu-west-1"
key            = "stack/terraform.tfstate"
region         = "eu-west-1"
dynamodb_table = "storefront-local-tflock"
encrypt        = true
