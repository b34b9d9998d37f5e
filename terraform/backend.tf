# Partial configuration: the key, region and S3 lockfile come from
# backend/<env>.hcl and the state bucket (created by terraform/bootstrap) from
# -backend-config="bucket=...", so one root module serves every environment
# and no account-specific name is hard-coded:
#   terraform init -backend-config=backend/dev.hcl -backend-config="bucket=$TF_STATE_BUCKET"
terraform {
  backend "s3" {}
}
