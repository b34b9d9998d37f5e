# terraform test -var-file=environments/<env>.tfvars (CI runs it for dev, staging and prod):
# the whole root module applied against mocked providers (no AWS account, no credentials).
# It proves the module graph evaluates with each environment's values (no cycles, every
# for_each known, every precondition and variable validation satisfied) and pins the
# deployability fixes of issue 11. tests/infra (scripts/check_infra.sh) checks the rest offline.

mock_provider "aws" {}

mock_provider "aws" {
  alias = "us_east_1"
}

mock_provider "random" {}

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
