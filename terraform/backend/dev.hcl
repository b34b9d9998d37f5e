# terraform init -reconfigure -backend-config=backend/dev.hcl
bucket         = "shop-terraform-state-dev"
key            = "shop/dev/terraform.tfstate"
region         = "us-east-1"
dynamodb_table = "shop-terraform-locks"
encrypt        = true
