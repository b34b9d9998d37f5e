# terraform init -reconfigure -backend-config=backend/prod.hcl
bucket         = "shop-terraform-state-prod"
key            = "shop/prod/terraform.tfstate"
region         = "us-east-1"
dynamodb_table = "shop-terraform-locks"
encrypt        = true
