# terraform test -var-file=environments/<env>.tfvars (CI runs it for dev, staging and prod):
# the whole root module applied against mocked providers (no AWS account, no credentials).
# It proves the module graph evaluates with each environment's values (no cycles, every
# for_each known, every precondition and variable validation satisfied) and pins the
# deployability fixes of issue 11. tests/infra (scripts/check/infra.sh) checks the rest offline.

# Mocked computed values are random strings by default, which the provider's own validators
# reject (policy JSON, ARNs, URLs): these defaults give them AWS's shapes.
variables {
  image_tag = "0123456789abcdef0123456789abcdef01234567"
}

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "123456789012"
      arn        = "arn:aws:iam::123456789012:user/terraform-test"
      user_id    = "AIDATERRAFORMTEST"
    }
  }

  mock_data "aws_region" {
    defaults = { name = "us-east-1", id = "us-east-1" }
  }

  mock_data "aws_partition" {
    defaults = { partition = "aws", dns_suffix = "amazonaws.com" }
  }

  mock_data "aws_availability_zones" {
    defaults = {
      names    = ["us-east-1a", "us-east-1b", "us-east-1c"]
      zone_ids = ["use1-az1", "use1-az2", "use1-az4"]
    }
  }

  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"sts:AssumeRole\",\"Principal\":{\"Service\":\"lambda.amazonaws.com\"}}]}"
    }
  }

  mock_data "aws_secretsmanager_secret_version" {
    defaults = {
      secret_string = "{\"password\":\"mock-Passw0rd-0123456789\",\"auth_token\":\"mock-Auth-T0ken-0123456789abcdef\"}"
    }
  }

  mock_resource "aws_kms_key" {
    defaults = { arn = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000" }
  }

  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/mock" }
  }

  mock_resource "aws_lambda_function" {
    defaults = {
      arn        = "arn:aws:lambda:us-east-1:123456789012:function:mock"
      invoke_arn = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:mock/invocations"
    }
  }

  mock_resource "aws_sqs_queue" {
    defaults = {
      arn = "arn:aws:sqs:us-east-1:123456789012:mock"
      url = "https://sqs.us-east-1.amazonaws.com/123456789012/mock"
    }
  }

  mock_resource "aws_sns_topic" {
    defaults = { arn = "arn:aws:sns:us-east-1:123456789012:mock" }
  }

  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:us-east-1:123456789012:log-group:mock" }
  }

  mock_resource "aws_secretsmanager_secret" {
    defaults = { arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:mock-AbCdEf" }
  }

  mock_resource "aws_apigatewayv2_api" {
    defaults = {
      execution_arn = "arn:aws:execute-api:us-east-1:123456789012:mockapi"
      api_endpoint  = "https://mockapi.execute-api.us-east-1.amazonaws.com"
    }
  }

  mock_resource "aws_cognito_user_pool" {
    defaults = {
      id       = "us-east-1_Mock"
      arn      = "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_Mock"
      endpoint = "cognito-idp.us-east-1.amazonaws.com/us-east-1_Mock"
    }
  }

  mock_resource "aws_db_proxy_default_target_group" {
    defaults = { name = "default" }
  }

  mock_resource "aws_cloudfront_distribution" {
    defaults = {
      arn         = "arn:aws:cloudfront::123456789012:distribution/EMOCK"
      domain_name = "dmock.cloudfront.net"
    }
  }
}

mock_provider "aws" {
  alias = "us_east_1"
}

run "environment_applies" {
  command = apply

  assert {
    condition     = length(output.lambda_function_names) == 8
    error_message = "eight functions: four HTTP services, the image processor, the checkout worker, the outbox relay and the migrator"
  }

  assert {
    condition     = endswith(output.migrate_function_name, "db_migrate_lambda")
    error_message = "the deploy workflow invokes the migrator by the migrate_function_name output"
  }

  assert {
    condition     = startswith(output.images_public_base_url, "https://")
    error_message = "image links go through CloudFront over HTTPS"
  }

  assert {
    condition     = output.cloudwatch_dashboard_name == "${var.project}-${var.environment}-service-metrics"
    error_message = "one dashboard of the services' metrics per environment (docs/observability.md)"
  }

  assert {
    condition     = output.lambda_reserved_concurrency_total == 0 || output.lambda_reserved_concurrency_total + 100 <= var.lambda_account_concurrency_limit
    error_message = "reserved concurrency must leave 100 of the declared account limit unreserved"
  }
}

run "reservations_beyond_the_account_limit_are_refused" {
  command = plan

  variables {
    lambda_account_concurrency_limit = 10
    lambda_functions = {
      api_users_lambda        = { memory_size = 256, timeout = 10, reserved_concurrency = 5 }
      api_products_lambda     = { memory_size = 256, timeout = 10 }
      api_cart_lambda         = { memory_size = 256, timeout = 10 }
      api_orders_lambda       = { memory_size = 256, timeout = 25 }
      image_processing_lambda = { memory_size = 1024, timeout = 50 }
      checkout_worker_lambda  = { memory_size = 256, timeout = 25 }
      outbox_relay_lambda     = { memory_size = 256, timeout = 50 }
      db_migrate_lambda       = { memory_size = 256, timeout = 300 }
    }
  }

  expect_failures = [var.lambda_account_concurrency_limit]
}

# REQUEST_TIMEOUT_MS must end before the HTTP functions' timeout (10 s in every environment's
# api_users_lambda) so that a late request gets the service's 503, not a Lambda timeout.
run "a_request_deadline_past_the_function_timeout_is_refused" {
  command = plan

  variables {
    request_timeout_ms = 10000
  }

  expect_failures = [var.request_timeout_ms]
}

run "an_image_tag_that_is_not_a_commit_sha_is_refused" {
  command = plan

  variables {
    image_tag = "latest"
  }

  expect_failures = [var.image_tag]
}

# Cognito's default sender allows 50 mails a day: prod must send through SES.
run "prod_mail_without_ses_is_refused" {
  command = plan

  variables {
    environment = "prod"
    cognito     = { auto_confirm = false, advanced_security_mode = "ENFORCED" }
  }

  expect_failures = [var.cognito]
}

# Each NAT gateway holds one Elastic IP of the account's regional quota.
run "more_nat_gateways_than_the_declared_elastic_ips_are_refused" {
  command = plan

  variables {
    elastic_ip_quota = 1
    network = {
      vpc_cidr              = "10.99.0.0/16"
      availability_zone_ids = ["use1-az1", "use1-az2"]
      nat_gateways          = 2
    }
  }

  expect_failures = [var.elastic_ip_quota]
}
