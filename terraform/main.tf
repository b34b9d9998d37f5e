# Root module: one environment of the shop (dev, staging or prod, one
# workspace each). Names follow scripts/aws_resources.json, prefixed with
# "<project>-<environment>-"; tests/infra checks the modules against it.
data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

locals {
  name_prefix = "${var.project}-${var.environment}-"

  tags = {
    Project     = var.project
    Environment = var.environment
    ManagedBy   = "terraform"
  }

  # Service crates with an image; the manifest's lambda_functions[].crate.
  services = ["users", "products", "cart", "orders", "image_processor"]

  images_bucket_name = "${local.name_prefix}images-${data.aws_caller_identity.current.account_id}"
  images_bucket_arn  = "arn:aws:s3:::${local.images_bucket_name}"

  # Where the image processor writes (thumbnails, and the re-encoded full-size
  # copy without metadata): the only keys CloudFront may serve. Never raw/.
  processed_image_prefixes = ["thumbnails/", "originals/"]
}

check "domain_needs_zone" {
  assert {
    condition     = (var.domain_name == "" && var.images.domain_name == "") || var.hosted_zone_id != ""
    error_message = "hosted_zone_id is required when domain_name or images.domain_name is set."
  }
}

module "kms" {
  source      = "./modules/kms"
  name_prefix = local.name_prefix
}

module "networking" {
  source                  = "./modules/networking"
  name_prefix             = local.name_prefix
  vpc_cidr                = var.network.vpc_cidr
  availability_zone_ids   = var.network.availability_zone_ids
  nat_gateways            = var.network.nat_gateways
  flow_log_retention_days = var.log_retention_days
  kms_key_arn             = module.kms.kms_key_arn
}

module "secrets" {
  source                  = "./modules/secrets"
  name_prefix             = local.name_prefix
  kms_key_arn             = module.kms.kms_key_arn
  recovery_window_in_days = var.protect_data ? 30 : 0

  database = {
    username = var.project
    dbname   = var.project
    host     = module.rds.db_proxy_endpoint
    port     = 5432
  }
}

module "rds" {
  source                  = "./modules/rds"
  name_prefix             = local.name_prefix
  subnet_ids              = module.networking.private_subnet_ids
  security_group_id       = module.networking.security_group_rds_id
  proxy_security_group_id = module.networking.security_group_rds_proxy_id
  kms_key_arn             = module.kms.kms_key_arn
  master_username         = var.project
  master_password         = module.secrets.db_password
  master_password_version = module.secrets.credentials_version
  db_secret_arn           = module.secrets.db_secret_arn
  database_name           = var.project
  settings                = merge(var.rds, { log_retention_days = var.log_retention_days })
}

module "elasticache" {
  source            = "./modules/elasticache"
  name_prefix       = local.name_prefix
  subnet_ids        = module.networking.private_subnet_ids
  security_group_id = module.networking.security_group_redis_id
  kms_key_arn       = module.kms.kms_key_arn
  auth_token        = module.secrets.redis_auth_token
  settings          = merge(var.redis, { log_retention_days = var.log_retention_days })
}

module "dynamodb" {
  source              = "./modules/dynamodb"
  name_prefix         = local.name_prefix
  kms_key_arn         = module.kms.kms_key_arn
  deletion_protection = var.protect_data
}

module "sns_sqs" {
  source            = "./modules/sns_sqs"
  name_prefix       = local.name_prefix
  kms_key_arn       = module.kms.kms_key_arn
  images_bucket_arn = local.images_bucket_arn
}

module "s3" {
  source               = "./modules/s3"
  bucket_name          = local.images_bucket_name
  kms_key_arn          = module.kms.kms_key_arn
  upload_topic_arn     = module.sns_sqs.topic_arns["image-uploads"]
  cors_allowed_origins = var.cors_allowed_origins
  raw_expiration_days  = var.images.raw_expiration_days
  force_destroy        = !var.protect_data

  cdn_read = {
    distribution_arn = module.cdn.cloudfront_distribution_arn
    prefixes         = local.processed_image_prefixes
  }
}

module "cdn" {
  source = "./modules/cdn"

  providers = {
    aws           = aws
    aws.us_east_1 = aws.us_east_1
  }

  name_prefix                 = local.name_prefix
  bucket_name                 = module.s3.bucket_id
  bucket_regional_domain_name = module.s3.bucket_regional_domain_name
  domain_name                 = var.images.domain_name
  hosted_zone_id              = var.hosted_zone_id
}

module "cognito" {
  source                 = "./modules/cognito"
  name_prefix            = local.name_prefix
  deletion_protection    = var.protect_data
  advanced_security_mode = var.cognito.advanced_security_mode
  email                  = var.cognito.email
}

module "ecr" {
  source       = "./modules/ecr"
  name_prefix  = local.name_prefix
  services     = local.services
  kms_key_arn  = module.kms.kms_key_arn
  keep_images  = var.ecr_keep_images
  force_delete = !var.protect_data
}

module "step_functions" {
  source             = "./modules/step_functions"
  name_prefix        = local.name_prefix
  definition_file    = "${path.root}/${var.state_machine_definition_file}"
  kms_key_arn        = module.kms.kms_key_arn
  log_retention_days = var.log_retention_days
  topic_arns         = module.sns_sqs.topic_arns

  task_queue = {
    url = module.sns_sqs.queue_urls["checkout-tasks"]
    arn = module.sns_sqs.queue_arns["checkout-tasks"]
  }

  queues = { for k, url in module.sns_sqs.queue_urls : k => { url = url, arn = module.sns_sqs.queue_arns[k] } }
  tables = { for k, name in module.dynamodb.table_names : k => { name = name, arn = module.dynamodb.table_arns[k] } }

  template_values = {
    IMAGES_BUCKET = module.s3.bucket_id
  }
}

module "lambdas" {
  source                     = "./modules/lambdas"
  name_prefix                = local.name_prefix
  app_env                    = var.environment
  image_repository_urls      = module.ecr.repository_urls
  image_tag                  = var.image_tag
  function_settings          = var.lambda_functions
  account_concurrency_limit  = var.lambda_account_concurrency_limit
  subnet_ids                 = module.networking.private_subnet_ids
  security_group_id          = module.networking.security_group_lambda_id
  kms_key_arn                = module.kms.kms_key_arn
  log_retention_days         = var.log_retention_days
  log_level                  = var.log_level
  checkout_state_machine_arn = module.step_functions.state_machine_arn

  database = {
    secret_arn      = module.secrets.db_secret_arn
    max_connections = var.database_max_connections
  }

  service_tuning = {
    aws_timeout_ms     = var.aws_timeout_ms
    request_timeout_ms = var.request_timeout_ms
    cache_local_ttl_ms = var.cache_local_ttl_ms
  }

  redis = {
    url        = module.elasticache.redis_url
    secret_arn = module.secrets.redis_secret_arn
  }

  dynamodb = {
    table_prefix = local.name_prefix
    table_arns   = module.dynamodb.table_arns
  }

  images = {
    bucket_name        = module.s3.bucket_id
    bucket_arn         = module.s3.bucket_arn
    public_base_url    = module.cdn.public_base_url
    processed_prefixes = local.processed_image_prefixes
  }

  messaging = {
    queue_urls                = module.sns_sqs.queue_urls
    queue_arns                = module.sns_sqs.queue_arns
    queue_visibility_timeouts = module.sns_sqs.queue_visibility_timeouts
    topic_arns                = module.sns_sqs.topic_arns
  }

  cognito = {
    user_pool_id  = module.cognito.user_pool_id
    user_pool_arn = module.cognito.user_pool_arn
    client_id     = module.cognito.app_client_id
    issuer        = module.cognito.user_pool_issuer
    jwks_url      = module.cognito.user_pool_jwks_url
    auto_confirm  = var.cognito.auto_confirm
  }
}

module "api_gateway" {
  source             = "./modules/api_gateway"
  name_prefix        = local.name_prefix
  log_retention_days = var.log_retention_days
  kms_key_arn        = module.kms.kms_key_arn
  throttling         = var.api_throttling

  services = {
    for fn, prefix in module.lambdas.http_functions : prefix => {
      function_name       = module.lambdas.function_names[fn]
      function_invoke_arn = module.lambdas.function_invoke_arns[fn]
    }
  }

  jwt = {
    issuer    = module.cognito.user_pool_issuer
    audiences = [module.cognito.app_client_id]
  }

  cors = {
    allow_origins = var.cors_allowed_origins
    max_age       = 3600
  }
}

module "monitoring" {
  source            = "./modules/monitoring"
  name_prefix       = local.name_prefix
  kms_key_arn       = module.kms.kms_key_arn
  alarm_emails      = var.alarm_emails
  function_names    = module.lambdas.function_names
  dlq_names         = module.sns_sqs.dlq_names
  api_id            = module.api_gateway.api_id
  state_machine_arn = module.step_functions.state_machine_arn
  environment       = var.environment # APP_ENV of the functions: their metrics' Environment
  http_services     = toset([for fn in keys(module.lambdas.http_functions) : module.lambdas.function_crates[fn]])
  thresholds        = var.alarm_thresholds
}

module "edge" {
  source = "./modules/edge"
  count  = var.domain_name == "" ? 0 : 1

  providers = {
    aws           = aws
    aws.us_east_1 = aws.us_east_1
  }

  name_prefix    = local.name_prefix
  domain_name    = var.domain_name
  hosted_zone_id = var.hosted_zone_id
  api_endpoint   = module.api_gateway.api_endpoint
}
