# terraform init -reconfigure -backend-config=backend/staging.hcl
bucket         = "shop-terraform-state-staging"
key            = "shop/staging/terraform.tfstate"
region         = "us-east-1"
dynamodb_table = "shop-terraform-locks"
encrypt        = true
