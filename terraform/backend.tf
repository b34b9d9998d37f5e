# Partial configuration: the bucket, key, region and lock table come from
# backend/<env>.hcl (terraform init -backend-config=backend/dev.hcl), so one
# root module serves every environment and no state location is hard-coded.
terraform {
  backend "s3" {}
}
