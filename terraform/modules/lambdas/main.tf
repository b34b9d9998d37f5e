# Owns the five functions of scripts/aws_resources.json (container images on
# arm64, in the VPC), one IAM role per function with only the resources that
# function uses, their log groups, and the SQS event source mappings:
# image-processing -> image_processing_lambda, and checkout-tasks ->
# api_orders_lambda (the orders binary serves HTTP and the checkout
# workflow's task tokens). It must not create API routes (api_gateway) nor
# queue/topic policies (sns_sqs).
data "aws_partition" "current" {}

locals {
  partition = data.aws_partition.current.partition

  functions = {
    api_users_lambda        = { crate = "users", kind = "http", route_prefix = "users", queue = null }
    api_products_lambda     = { crate = "products", kind = "http", route_prefix = "products", queue = null }
    api_cart_lambda         = { crate = "cart", kind = "http", route_prefix = "cart", queue = null }
    api_orders_lambda       = { crate = "orders", kind = "http", route_prefix = "orders", queue = null }
    image_processing_lambda = { crate = "image_processor", kind = "sqs", route_prefix = null, queue = "image-processing" }
  }

  # SQS event source mappings: queue logical name -> consuming function.
  event_sources = {
    "image-processing" = "image_processing_lambda"
    "checkout-tasks"   = "api_orders_lambda"
  }

  # What each function may touch. This is the least-privilege contract of the
  # code: widen it here, with the code change that needs it.
  access = {
    api_users_lambda = {
      tables_rw      = ["Idempotency"]
      tables_ro      = []
      s3_get         = []
      s3_put         = ["raw/*"]
      publish        = []
      send           = []
      start_checkout = false
      task_tokens    = false
      cognito_admin  = true
    }
    api_products_lambda = {
      tables_rw      = ["ProductCatalog", "ProductImagesMeta", "Idempotency"]
      tables_ro      = []
      s3_get         = ["*"]
      s3_put         = ["raw/*"]
      publish        = []
      send           = []
      start_checkout = false
      task_tokens    = false
      cognito_admin  = false
    }
    api_cart_lambda = {
      tables_rw      = ["UserCart", "Idempotency"]
      tables_ro      = ["ProductCatalog"]
      s3_get         = []
      s3_put         = []
      publish        = []
      send           = []
      start_checkout = false
      task_tokens    = false
      cognito_admin  = false
    }
    api_orders_lambda = {
      tables_rw      = ["OrderEvents", "UserCart", "ProductCatalog", "Idempotency"]
      tables_ro      = []
      s3_get         = []
      s3_put         = []
      publish        = ["order-events"]
      send           = []
      start_checkout = true
      task_tokens    = true
      cognito_admin  = false
    }
    image_processing_lambda = {
      tables_rw      = ["ProductImagesMeta", "ProductCatalog"]
      tables_ro      = []
      s3_get         = ["raw/*"]
      s3_put         = ["*"]
      publish        = []
      send           = []
      start_checkout = false
      task_tokens    = false
      cognito_admin  = false
    }
  }

  consumed_queues = { for queue, fn in local.event_sources : fn => queue... }

  execution_arn_prefix = replace(var.checkout_state_machine_arn, ":stateMachine:", ":execution:")

  environment = merge({
    APP_ENV                    = var.app_env
    RUST_LOG                   = var.log_level
    DATABASE_SECRET_ID         = var.database.secret_arn
    DATABASE_MAX_CONNECTIONS   = tostring(var.database.max_connections)
    REDIS_URL                  = var.redis.url
    REDIS_AUTH_SECRET_ID       = var.redis.secret_arn
    DYNAMODB_TABLE_PREFIX      = var.dynamodb.table_prefix
    IMAGES_BUCKET              = var.images.bucket_name
    IMAGES_PUBLIC_BASE_URL     = var.images.public_base_url
    IMAGE_QUEUE_URL            = var.messaging.queue_urls["image-processing"]
    ORDER_EVENTS_TOPIC_ARN     = var.messaging.topic_arns["order-events"]
    CHECKOUT_STATE_MACHINE_ARN = var.checkout_state_machine_arn
    CHECKOUT_TASK_QUEUE_URL    = var.messaging.queue_urls["checkout-tasks"]
    COGNITO_USER_POOL_ID       = var.cognito.user_pool_id
    COGNITO_CLIENT_ID          = var.cognito.client_id
    COGNITO_ISSUER             = var.cognito.issuer
    COGNITO_JWKS_URL           = var.cognito.jwks_url
    COGNITO_AUTO_CONFIRM       = tostring(var.cognito.auto_confirm)
  }, var.extra_environment)

  statements = {
    for fn, a in local.access : fn => concat(
      [
        {
          sid       = "ReadSecrets"
          effect    = "Allow"
          actions   = ["secretsmanager:GetSecretValue"]
          resources = [var.database.secret_arn, var.redis.secret_arn]
        },
        {
          sid       = "UseDataKey"
          effect    = "Allow"
          actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
          resources = [var.kms_key_arn]
        },
        {
          sid       = "EmitMetrics"
          effect    = "Allow"
          actions   = ["cloudwatch:PutMetricData"]
          resources = ["*"]
        },
      ],
      length(a.tables_rw) == 0 ? [] : [{
        sid       = "TablesReadWrite"
        effect    = "Allow"
        actions   = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:ConditionCheckItem", "dynamodb:DescribeTable", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"]
        resources = flatten([for t in a.tables_rw : [var.dynamodb.table_arns[t], "${var.dynamodb.table_arns[t]}/index/*"]])
      }],
      length(a.tables_ro) == 0 ? [] : [{
        sid       = "TablesReadOnly"
        effect    = "Allow"
        actions   = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:ConditionCheckItem", "dynamodb:DescribeTable"]
        resources = flatten([for t in a.tables_ro : [var.dynamodb.table_arns[t], "${var.dynamodb.table_arns[t]}/index/*"]])
      }],
      length(a.s3_get) == 0 ? [] : [{
        sid       = "ImagesRead"
        effect    = "Allow"
        actions   = ["s3:GetObject"]
        resources = [for p in a.s3_get : "${var.images.bucket_arn}/${p}"]
      }],
      length(a.s3_put) == 0 ? [] : [{
        sid       = "ImagesWrite"
        effect    = "Allow"
        actions   = ["s3:PutObject"]
        resources = [for p in a.s3_put : "${var.images.bucket_arn}/${p}"]
      }],
      # The processor writes derived images; writing under raw/ would notify
      # the pipeline again and loop.
      fn == "image_processing_lambda" ? [{
        sid       = "NoWritesToRaw"
        effect    = "Deny"
        actions   = ["s3:PutObject"]
        resources = ["${var.images.bucket_arn}/raw/*"]
      }] : [],
      length(a.publish) == 0 ? [] : [{
        sid       = "PublishTopics"
        effect    = "Allow"
        actions   = ["sns:Publish"]
        resources = [for t in a.publish : var.messaging.topic_arns[t]]
      }],
      length(a.send) == 0 ? [] : [{
        sid       = "SendQueues"
        effect    = "Allow"
        actions   = ["sqs:SendMessage"]
        resources = [for q in a.send : var.messaging.queue_arns[q]]
      }],
      contains(keys(local.consumed_queues), fn) ? [{
        sid       = "ConsumeQueues"
        effect    = "Allow"
        actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"]
        resources = [for q in local.consumed_queues[fn] : var.messaging.queue_arns[q]]
      }] : [],
      a.start_checkout ? [
        {
          sid       = "StartCheckout"
          effect    = "Allow"
          actions   = ["states:StartExecution"]
          resources = [var.checkout_state_machine_arn]
        },
        {
          sid       = "ReadCheckout"
          effect    = "Allow"
          actions   = ["states:DescribeExecution"]
          resources = ["${local.execution_arn_prefix}:*"]
        },
      ] : [],
      a.task_tokens ? [{
        sid       = "CompleteCheckoutTasks"
        effect    = "Allow"
        actions   = ["states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"]
        resources = [var.checkout_state_machine_arn]
      }] : [],
      a.cognito_admin ? [{
        sid       = "ManageUsers"
        effect    = "Allow"
        actions   = ["cognito-idp:AdminGetUser", "cognito-idp:AdminConfirmSignUp", "cognito-idp:AdminAddUserToGroup", "cognito-idp:AdminListGroupsForUser", "cognito-idp:AdminUpdateUserAttributes", "cognito-idp:AdminUserGlobalSignOut", "cognito-idp:AdminDeleteUser"]
        resources = [var.cognito.user_pool_arn]
      }] : [],
    )
  }
}

# --- IAM ----------------------------------------------------------------------------

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  for_each           = local.functions
  name               = "${var.name_prefix}${each.key}"
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

# ENI management in the VPC and log delivery.
resource "aws_iam_role_policy_attachment" "vpc_access" {
  for_each   = local.functions
  role       = aws_iam_role.this[each.key].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
}

resource "aws_iam_role_policy_attachment" "xray" {
  for_each   = local.functions
  role       = aws_iam_role.this[each.key].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/AWSXRayDaemonWriteAccess"
}

data "aws_iam_policy_document" "function" {
  for_each = local.functions

  dynamic "statement" {
    for_each = local.statements[each.key]
    content {
      sid       = statement.value.sid
      effect    = statement.value.effect
      actions   = statement.value.actions
      resources = statement.value.resources

      # PutMetricData has no resource scope; pin it to the project namespace.
      dynamic "condition" {
        for_each = statement.value.sid == "EmitMetrics" ? [1] : []
        content {
          test     = "StringEquals"
          variable = "cloudwatch:namespace"
          values   = ["Shop"]
        }
      }
    }
  }
}

resource "aws_iam_role_policy" "function" {
  for_each = local.functions
  name     = "least-privilege"
  role     = aws_iam_role.this[each.key].id
  policy   = data.aws_iam_policy_document.function[each.key].json
}

# --- functions ------------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "this" {
  for_each          = local.functions
  name              = "/aws/lambda/${var.name_prefix}${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:Invocations are synchronous (API Gateway) or SQS polling; failed messages go to the queues' DLQs, so a function-level async DLQ would never receive anything.
  #checkov:skip=CKV_AWS_272:Code signing applies to .zip packages only; these are container images from an immutable, scanned ECR repository.
  for_each = local.functions

  function_name = "${var.name_prefix}${each.key}"
  description   = "${each.value.crate} service (${each.value.kind})"
  role          = aws_iam_role.this[each.key].arn
  package_type  = "Image"
  image_uri     = "${var.image_repository_urls[each.value.crate]}:${var.image_tag}"
  architectures = ["arm64"]

  memory_size                    = var.function_settings[each.key].memory_size
  timeout                        = var.function_settings[each.key].timeout
  reserved_concurrent_executions = var.function_settings[each.key].reserved_concurrency
  kms_key_arn                    = var.kms_key_arn

  environment {
    variables = local.environment
  }

  vpc_config {
    subnet_ids         = var.subnet_ids
    security_group_ids = [var.security_group_id]
  }

  tracing_config {
    mode = "Active"
  }

  logging_config {
    log_format = "JSON"
    log_group  = aws_cloudwatch_log_group.this[each.key].name
  }

  depends_on = [
    aws_iam_role_policy.function,
    aws_iam_role_policy_attachment.vpc_access,
  ]
}

resource "aws_lambda_event_source_mapping" "sqs" {
  for_each = local.event_sources

  event_source_arn                   = var.messaging.queue_arns[each.key]
  function_name                      = aws_lambda_function.this[each.value].arn
  batch_size                         = var.sqs_batch.batch_size
  maximum_batching_window_in_seconds = var.sqs_batch.maximum_batching_window_in_seconds
  function_response_types            = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = var.sqs_batch.maximum_concurrency
  }

  lifecycle {
    precondition {
      condition     = var.function_settings[each.value].timeout <= var.messaging.queue_visibility_timeouts[each.key]
      error_message = "The timeout of ${each.value} must not exceed the visibility timeout of ${each.key}."
    }
  }
}
