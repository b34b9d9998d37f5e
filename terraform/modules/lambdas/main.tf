# Owns the functions of the platform (container images on arm64, in the VPC):
# the four HTTP services, the image processor, and three more commands of the
# same images: the checkout worker (orders `worker`, SQS), the outbox relay
# (products `relay`, every minute from EventBridge Scheduler) and the database
# migrator (products `migrate`, invoked once per deploy by the deploy
# workflow). One IAM role per function grants exactly what that function's
# code calls (locals.access, checked by tests/infra/test_iam_contract.py); the
# module also owns their log groups, the SQS event source mappings and the
# relay's schedule. It must not create API routes (api_gateway) nor queue or
# topic policies (sns_sqs).
data "aws_partition" "current" {}
data "aws_caller_identity" "current" {}

locals {
  partition = data.aws_partition.current.partition

  # kind: http (API Gateway), sqs (event source mapping), schedule
  # (EventBridge Scheduler), task (invoked by the deploy workflow).
  # command: image_config.command, the binary's argument (null = serve HTTP).
  functions = {
    api_users_lambda        = { crate = "users", kind = "http", route_prefix = "users", command = null }
    api_products_lambda     = { crate = "products", kind = "http", route_prefix = "products", command = null }
    api_cart_lambda         = { crate = "cart", kind = "http", route_prefix = "cart", command = null }
    api_orders_lambda       = { crate = "orders", kind = "http", route_prefix = "orders", command = null }
    image_processing_lambda = { crate = "image_processor", kind = "sqs", route_prefix = null, command = null }
    checkout_worker_lambda  = { crate = "orders", kind = "sqs", route_prefix = null, command = ["worker"] }
    outbox_relay_lambda     = { crate = "products", kind = "schedule", route_prefix = null, command = ["relay"] }
    db_migrate_lambda       = { crate = "products", kind = "task", route_prefix = null, command = ["migrate"] }
  }

  # SQS event source mappings: queue logical name -> consuming function.
  event_sources = {
    "image-processing" = "image_processing_lambda"
    "checkout-tasks"   = "checkout_worker_lambda"
    "fulfillment"      = "checkout_worker_lambda"
  }

  # What each function's code calls: the least-privilege contract. Widen it
  # here, with the code change that needs it. tables: logical table ->
  # DynamoDB actions (on the table and its indexes); s3_get/s3_put: key
  # patterns in the images bucket; states: actions on the checkout state
  # machine; cognito: admin actions on the user pool (the public sign-up and
  # sign-in APIs need no IAM); postgres/redis: read the db/redis-auth secret
  # (and get DATABASE_SECRET_ID / REDIS_* in the environment).
  access = {
    api_users_lambda = {
      postgres = true
      redis    = false
      tables = {
        # PutItem: an upload's pending record (UploadService::create_upload); DescribeTable:
        # health. No Query: the image list is read by the products service only.
        # No Idempotency table: app::users builds its state without the idempotency store.
        ProductImagesMeta = ["PutItem", "DescribeTable"]
      }
      s3_get = []
      s3_put = ["raw/*"]
      states = []
      # AdminGetUser: the e-mail of a signed-in user without a row;
      # AdminDeleteUser: undo a sign-up whose row could not be written;
      # AdminInitiateAuth: sign-in, server side, with the caller's context
      # data for threat protection;
      # AdminConfirmSignUp: only where sign-ups are auto-confirmed (dev).
      cognito = concat(["AdminGetUser", "AdminDeleteUser", "AdminInitiateAuth"], var.cognito.auto_confirm ? ["AdminConfirmSignUp"] : [])
    }
    api_products_lambda = {
      postgres = true
      redis    = true
      tables = {
        ProductCatalog    = ["GetItem", "Query", "PutItem", "DeleteItem", "DescribeTable"]
        ProductImagesMeta = ["PutItem", "Query"]
        Idempotency       = ["GetItem", "PutItem", "UpdateItem"]
      }
      s3_get  = []
      s3_put  = ["raw/*"]
      states  = []
      cognito = []
    }
    api_cart_lambda = {
      postgres = true
      redis    = true
      tables = {
        UserCart       = ["GetItem", "PutItem", "UpdateItem", "DescribeTable"] # no DeleteItem: an emptied cart is written, not deleted
        ProductCatalog = ["BatchGetItem", "GetItem"]
      }
      s3_get = []
      s3_put = []
      states = []
      # AdminGetUser: the e-mail of a first-time caller whose users row is made on first use.
      cognito = ["AdminGetUser"]
    }
    api_orders_lambda = {
      postgres = true
      redis    = true
      tables = {
        # Query: the events route; PutItem: the order's history (its outbox entry applied at
        # once); GetItem: the cart checked out; DescribeTable: health.
        OrderEvents    = ["Query", "PutItem", "DescribeTable"]
        UserCart       = ["GetItem"]
        ProductCatalog = ["BatchGetItem", "GetItem"]
        Idempotency    = ["GetItem", "PutItem", "UpdateItem"]
      }
      s3_get = []
      s3_put = []
      states = ["StartExecution"]
      # AdminGetUser: the e-mail of a first-time caller whose users row is made on first use.
      cognito = ["AdminGetUser"]
    }
    image_processing_lambda = {
      postgres = true
      redis    = false
      tables = {
        # UpdateItem: the outcome of processing (set_outcome); the pending record is
        # written by the upload route, the list read by the products service.
        ProductImagesMeta = ["UpdateItem"]
        ProductCatalog    = ["PutItem", "DeleteItem"]
      }
      s3_get  = ["raw/*"]
      s3_put  = [for p in var.images.processed_prefixes : "${p}*"]
      states  = []
      cognito = []
    }
    checkout_worker_lambda = {
      postgres = true
      redis    = true
      tables = {
        # PutItem: history and fulfillment.requested; GetItem/PutItem: taking what was bought
        # out of the cart (a conditional write); BatchGetItem: pricing the cart it wrote.
        OrderEvents    = ["PutItem"]
        UserCart       = ["GetItem", "PutItem"]
        ProductCatalog = ["BatchGetItem", "GetItem"]
      }
      s3_get  = []
      s3_put  = []
      states  = ["SendTaskSuccess", "SendTaskFailure", "SendTaskHeartbeat"]
      cognito = []
    }
    outbox_relay_lambda = {
      postgres = true
      redis    = true
      tables = {
        ProductCatalog = ["PutItem", "DeleteItem"]
        # The orders' outbox: their history, and a checkout whose first start failed.
        OrderEvents = ["PutItem"]
      }
      s3_get  = []
      s3_put  = []
      states  = ["StartExecution"]
      cognito = []
    }
    db_migrate_lambda = {
      postgres = true
      redis    = false
      tables   = {}
      s3_get   = []
      s3_put   = []
      states   = []
      cognito  = []
    }
  }

  consumed_queues = { for queue, fn in local.event_sources : fn => queue... }

  common_environment = merge({
    APP_ENV                    = var.app_env
    RUST_LOG                   = var.log_level
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
    # BaseConfig (every function) and CacheConfig; DYNAMODB_ENDPOINT_URL stays
    # unset in AWS (the SDK's regional endpoint).
    AWS_TIMEOUT_MS     = tostring(var.service_tuning.aws_timeout_ms)
    REQUEST_TIMEOUT_MS = tostring(var.service_tuning.request_timeout_ms)
    CACHE_LOCAL_TTL_MS = tostring(var.service_tuning.cache_local_ttl_ms)
  }, var.extra_environment)

  # Only functions that may read a secret are told its id: a function without
  # Redis runs with the cache off (REDIS_URL unset) instead of failing on an
  # AccessDenied at start-up.
  environment = {
    for fn, a in local.access : fn => merge(
      local.common_environment,
      a.postgres ? {
        DATABASE_SECRET_ID       = var.database.secret_arn
        DATABASE_MAX_CONNECTIONS = tostring(var.database.max_connections)
      } : {},
      a.redis ? {
        REDIS_URL            = var.redis.url
        REDIS_AUTH_SECRET_ID = var.redis.secret_arn
      } : {},
    )
  }

  statements = {
    for fn, a in local.access : fn => concat(
      [
        {
          sid       = "ReadSecrets"
          effect    = "Allow"
          actions   = ["secretsmanager:GetSecretValue"]
          resources = concat(a.postgres ? [var.database.secret_arn] : [], a.redis ? [var.redis.secret_arn] : [])
        },
        {
          sid       = "UseDataKey"
          effect    = "Allow"
          actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
          resources = [var.kms_key_arn]
        },
      ],
      [for table, actions in a.tables : {
        sid       = "Table${table}"
        effect    = "Allow"
        actions   = [for x in actions : "dynamodb:${x}"]
        resources = [var.dynamodb.table_arns[table], "${var.dynamodb.table_arns[table]}/index/*"]
      }],
      length(a.s3_get) == 0 ? [] : [{
        sid       = "ImagesRead"
        effect    = "Allow"
        actions   = ["s3:GetObject"]
        resources = [for p in a.s3_get : "${var.images.bucket_arn}/${p}"]
      }],
      # Without ListBucket S3 answers a missing key with AccessDenied, not NoSuchKey: a deleted
      # upload would be retried into the DLQ instead of failing as missing.
      length(a.s3_get) == 0 ? [] : [{
        sid       = "ImagesList"
        effect    = "Allow"
        actions   = ["s3:ListBucket"]
        resources = [var.images.bucket_arn]
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
      contains(keys(local.consumed_queues), fn) ? [{
        sid       = "ConsumeQueues"
        effect    = "Allow"
        actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"]
        resources = [for q in local.consumed_queues[fn] : var.messaging.queue_arns[q]]
      }] : [],
      length(a.states) == 0 ? [] : [{
        sid       = "CheckoutWorkflow"
        effect    = "Allow"
        actions   = [for x in a.states : "states:${x}"]
        resources = [var.checkout_state_machine_arn]
      }],
      length(a.cognito) == 0 ? [] : [{
        sid       = "ManageUsers"
        effect    = "Allow"
        actions   = [for x in a.cognito : "cognito-idp:${x}"]
        resources = [var.cognito.user_pool_arn]
      }],
    )
  }

  # Reserved concurrency is an explicit per-environment choice: null leaves a
  # function unreserved. AWS refuses reservations that would leave less than
  # 100 unreserved executions in the account.
  reserved_total = sum(concat([0], [for s in values(var.function_settings) : s.reserved_concurrency if s.reserved_concurrency != null]))

  # maximum_concurrency of each SQS event source mapping (queue -> pollers'
  # invocations at most), and their sum per consuming function: AWS wants
  # each 2..1000, and with reserved concurrency the sum must stay within it
  # (more pollers than the reservation only throttle, and throttled batches
  # go back to the queue and towards its DLQ).
  queue_concurrency = {
    for queue, fn in local.event_sources :
    queue => coalesce(var.function_settings[fn].queue_concurrency, var.sqs_batch.maximum_concurrency)
  }
  queue_concurrency_by_function = {
    for fn, queues in local.consumed_queues : fn => sum([for q in queues : local.queue_concurrency[q]])
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

      # ListBucket only under the prefixes the function reads.
      dynamic "condition" {
        for_each = statement.value.sid == "ImagesList" ? [1] : []
        content {
          test     = "StringLike"
          variable = "s3:prefix"
          values   = local.access[each.key].s3_get
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
  #checkov:skip=CKV_AWS_116:Invocations are synchronous (API Gateway, the deploy workflow), SQS polling or EventBridge Scheduler with its own retry policy; failed messages go to the queues' DLQs, so a function-level async DLQ would never receive anything.
  #checkov:skip=CKV_AWS_272:Code signing applies to .zip packages only; these are container images from an immutable, scanned ECR repository.
  for_each = local.functions

  function_name = "${var.name_prefix}${each.key}"
  description   = each.value.command == null ? "${each.value.crate} service (${each.value.kind})" : "${each.value.crate} ${join(" ", each.value.command)} (${each.value.kind})"
  role          = aws_iam_role.this[each.key].arn
  package_type  = "Image"
  image_uri     = "${var.image_repository_urls[each.value.crate]}:${var.image_tag}"
  architectures = ["arm64"]

  memory_size                    = var.function_settings[each.key].memory_size
  timeout                        = var.function_settings[each.key].timeout
  reserved_concurrent_executions = var.function_settings[each.key].reserved_concurrency
  kms_key_arn                    = var.kms_key_arn

  dynamic "image_config" {
    for_each = each.value.command == null ? [] : [each.value.command]
    content {
      command = image_config.value
    }
  }

  environment {
    variables = local.environment[each.key]
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

  lifecycle {
    # A request past its deadline is answered 503 by the service only if the
    # function is still running: the deadline must end before the timeout.
    precondition {
      condition     = each.value.kind != "http" || var.service_tuning.request_timeout_ms < var.function_settings[each.key].timeout * 1000
      error_message = "REQUEST_TIMEOUT_MS ${var.service_tuning.request_timeout_ms} must be below ${each.key}'s timeout (${var.function_settings[each.key].timeout} s): lower request_timeout_ms or raise the timeout."
    }

    precondition {
      condition     = local.reserved_total == 0 || local.reserved_total + 100 <= var.account_concurrency_limit
      error_message = "Reserved concurrency totals ${local.reserved_total}; the declared account limit ${var.account_concurrency_limit} must be at least that plus 100 (AWS keeps 100 unreserved). Raise the Lambda concurrency quota and lambda_account_concurrency_limit, or reserve less (null = unreserved)."
    }
  }

  depends_on = [
    aws_iam_role_policy.function,
    aws_iam_role_policy_attachment.vpc_access,
  ]
}

# --- the outbox relay's schedule ------------------------------------------------------
# In Lambda a relay inside the HTTP functions runs only while an instance is
# warm; the schedule makes the projection catch up by itself, once a minute.

data "aws_iam_policy_document" "scheduler_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "scheduler" {
  name               = "${var.name_prefix}outbox_relay_schedule"
  assume_role_policy = data.aws_iam_policy_document.scheduler_assume.json
}

data "aws_iam_policy_document" "scheduler" {
  statement {
    sid       = "InvokeRelay"
    actions   = ["lambda:InvokeFunction"]
    resources = [aws_lambda_function.this["outbox_relay_lambda"].arn, "${aws_lambda_function.this["outbox_relay_lambda"].arn}:*"]
  }

  # The schedule's input is encrypted with the environment key.
  statement {
    sid       = "DecryptScheduleInput"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role_policy" "scheduler" {
  name   = "invoke-outbox-relay"
  role   = aws_iam_role.scheduler.id
  policy = data.aws_iam_policy_document.scheduler.json
}

resource "aws_scheduler_schedule" "outbox_relay" {
  name                = "${var.name_prefix}outbox-relay"
  description         = "One pass of the outbox relay (Postgres -> ProductCatalog, cache invalidation) every minute."
  schedule_expression = var.relay_schedule_expression
  kms_key_arn         = var.kms_key_arn

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = aws_lambda_function.this["outbox_relay_lambda"].arn
    role_arn = aws_iam_role.scheduler.arn
    input    = jsonencode({ source = "shop.scheduler", task = "outbox-relay" })

    # A missed pass is caught up by the next one a minute later.
    retry_policy {
      maximum_event_age_in_seconds = 60
      maximum_retry_attempts       = 0
    }
  }
}

resource "aws_lambda_event_source_mapping" "sqs" {
  for_each = local.event_sources

  event_source_arn                   = var.messaging.queue_arns[each.key]
  function_name                      = aws_lambda_function.this[each.value].arn
  batch_size                         = var.sqs_batch.batch_size
  maximum_batching_window_in_seconds = var.sqs_batch.maximum_batching_window_in_seconds
  function_response_types            = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = local.queue_concurrency[each.key]
  }

  lifecycle {
    precondition {
      condition     = var.function_settings[each.value].timeout <= var.messaging.queue_visibility_timeouts[each.key]
      error_message = "The timeout of ${each.value} must not exceed the visibility timeout of ${each.key}."
    }

    precondition {
      condition     = local.queue_concurrency[each.key] >= 2 && local.queue_concurrency[each.key] <= 1000
      error_message = "maximum_concurrency of ${each.key} is ${local.queue_concurrency[each.key]}: AWS accepts 2..1000."
    }

    precondition {
      condition     = var.function_settings[each.value].reserved_concurrency == null || local.queue_concurrency_by_function[each.value] <= coalesce(var.function_settings[each.value].reserved_concurrency, 0)
      error_message = "The event source mappings of ${each.value} total maximum_concurrency ${local.queue_concurrency_by_function[each.value]}, above its reserved concurrency ${coalesce(var.function_settings[each.value].reserved_concurrency, 0)}: lower queue_concurrency (at least 2 per queue) or reserve more."
    }
  }
}
