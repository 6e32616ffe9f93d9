# Plan/apply-level checks of the network module with a mocked AWS provider (no AWS, no emulator).

mock_provider "aws" {
  mock_data "aws_availability_zones" {
    defaults = { names = ["eu-west-1c", "eu-west-1a", "eu-west-1b"] }
  }
  mock_data "aws_region" {
    defaults = { name = "eu-west-1" }
  }
  mock_data "aws_ec2_managed_prefix_list" {
    defaults = { id = "pl-6da54004" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/vpc/storefront-test/flow-logs" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/storefront-test-vpc-flow-logs" }
  }
}

variables {
  name               = "storefront-test"
  availability_zones = ["eu-west-1a", "eu-west-1b"]
}

run "ha_spreads_over_three_azs_with_a_nat_each" {
  command = apply

  variables {
    availability_zones = ["eu-west-1c", "eu-west-1a", "eu-west-1b"]
  }

  assert {
    condition     = length(aws_subnet.public) == 3 && length(aws_subnet.private) == 3
    error_message = "One public and one private subnet per AZ expected."
  }

  assert {
    condition     = toset([for s in aws_subnet.private : s.availability_zone]) == toset(["eu-west-1a", "eu-west-1b", "eu-west-1c"])
    error_message = "Private subnets must cover three distinct AZs."
  }

  assert {
    condition     = length(aws_nat_gateway.this) == 3 && alltrue([for i in range(3) : aws_route.private_nat[i].nat_gateway_id == aws_nat_gateway.this[i].id])
    error_message = "Each AZ's private route table must use the NAT gateway of its own AZ."
  }

  assert {
    condition     = alltrue([for i in range(3) : aws_nat_gateway.this[i].subnet_id == aws_subnet.public[i].id])
    error_message = "NAT gateways live in the public subnets."
  }

  assert {
    condition     = alltrue([for s in aws_subnet.public : !s.map_public_ip_on_launch])
    error_message = "Public subnets must not hand out public IPs by default."
  }

  assert {
    condition     = toset(keys(aws_vpc_endpoint.gateway)) == toset(["s3", "dynamodb"]) && alltrue([for e in aws_vpc_endpoint.gateway : e.vpc_endpoint_type == "Gateway" && length(e.route_table_ids) == 3])
    error_message = "S3 and DynamoDB gateway endpoints on every private route table expected."
  }

  assert {
    condition     = aws_flow_log.this.traffic_type == "ALL" && aws_flow_log.this.log_destination_type == "cloud-watch-logs"
    error_message = "Flow logs of all traffic must go to CloudWatch Logs."
  }

  assert {
    condition     = aws_cloudwatch_log_group.flow_logs.retention_in_days == 30
    error_message = "Flow logs need a retention period."
  }

  assert {
    condition     = length(aws_default_security_group.this.ingress) == 0 && length(aws_default_security_group.this.egress) == 0
    error_message = "The default security group must have no rules."
  }
}

run "dev_shares_one_nat" {
  command = apply

  variables {
    single_nat_gateway = true
  }

  assert {
    condition     = length(aws_nat_gateway.this) == 1 && length(aws_route.private_nat) == 2
    error_message = "single_nat_gateway must create one NAT used by both AZs."
  }

  assert {
    condition     = aws_route.private_nat[0].nat_gateway_id == aws_route.private_nat[1].nat_gateway_id
    error_message = "Both private route tables must use the single NAT."
  }
}

run "one_az_is_refused" {
  command = plan

  variables {
    availability_zones = ["eu-west-1a"]
  }

  expect_failures = [var.availability_zones]
}

run "the_same_az_twice_is_refused" {
  command = plan

  variables {
    availability_zones = ["eu-west-1a", "eu-west-1a"]
  }

  expect_failures = [var.availability_zones]
}

run "an_az_of_another_region_is_refused" {
  command = plan

  variables {
    availability_zones = ["eu-west-1a", "us-east-1a"]
  }

  expect_failures = [aws_vpc.this]
}

run "an_az_the_region_does_not_have_is_refused" {
  command = plan

  variables {
    availability_zones = ["eu-west-1a", "eu-west-1z"]
  }

  expect_failures = [aws_vpc.this]
}

run "subnets_follow_the_given_order_not_the_available_list" {
  command = apply

  variables {
    availability_zones = ["eu-west-1c", "eu-west-1a"]
  }

  assert {
    condition     = [for s in aws_subnet.private : s.availability_zone] == ["eu-west-1c", "eu-west-1a"]
    error_message = "Subnets are in exactly the AZs given, in that order."
  }
}

run "bad_retention_is_refused" {
  command = plan

  variables {
    flow_log_retention_days = 10
  }

  expect_failures = [var.flow_log_retention_days]
}

run "bad_cidr_is_refused" {
  command = plan

  variables {
    cidr_block = "10.0.0.0/24"
  }

  expect_failures = [var.cidr_block]
}

run "bad_name_is_refused" {
  command = plan

  variables {
    name = "Storefront_Test"
  }

  expect_failures = [var.name]
}
