# terraform init -reconfigure -backend-config=backend/staging.hcl -backend-config="bucket=$TF_STATE_BUCKET"
# The bucket is created by terraform/bootstrap (output state_bucket) and passed at
# init; the lock is an S3 lockfile next to the state (no DynamoDB table).
key          = "shop/staging/terraform.tfstate"
region       = "us-east-1"
encrypt      = true
use_lockfile = true
