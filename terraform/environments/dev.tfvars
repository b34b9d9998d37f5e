# terraform workspace select -or-create dev
# terraform plan -var-file=environments/dev.tfvars
environment = "dev"
aws_region  = "us-east-1"

network = {
  vpc_cidr           = "10.20.0.0/16"
  availability_zones = ["us-east-1a", "us-east-1b"]
  nat_gateway        = { enabled = true, one_per_az = false }
}

rds = {
  instance_class          = "db.t4g.micro"
  allocated_storage       = 20
  max_allocated_storage   = 50
  multi_az                = false
  deletion_protection     = false
  backup_retention_period = 1
  skip_final_snapshot     = true
}

redis = {
  node_type                = "cache.t4g.micro"
  num_cache_clusters       = 1
  snapshot_retention_limit = 1
}

lambda_functions = {
  api_users_lambda        = { memory_size = 256, timeout = 10 }
  api_products_lambda     = { memory_size = 256, timeout = 10 }
  api_cart_lambda         = { memory_size = 256, timeout = 10 }
  api_orders_lambda       = { memory_size = 256, timeout = 25 }
  image_processing_lambda = { memory_size = 1024, timeout = 50 }
  checkout_worker_lambda  = { memory_size = 256, timeout = 25 }
  outbox_relay_lambda     = { memory_size = 256, timeout = 50 }
  db_migrate_lambda       = { memory_size = 256, timeout = 300 }
}

# Reserved concurrency: none in dev (reserved_concurrency unset = unreserved),
# so dev deploys on a brand-new account whose Lambda concurrency quota may be
# as low as 10. Declared quota of the dev account:
lambda_account_concurrency_limit = 10

log_level          = "debug"
log_retention_days = 14

api_throttling = { burst_limit = 50, rate_limit = 20 }

cors_allowed_origins = ["http://localhost:3000"]

cognito = { auto_confirm = true, advanced_security_mode = "OFF" }

protect_data = false
