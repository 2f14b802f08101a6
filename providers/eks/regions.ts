/**
 * The Region names hashicorp/aws 5.100.0 accepts when `skip_region_validation` is not true: the
 * partitions' Regions of the aws-sdk-go-base v2 it was built with (endpoints/endpoints_gen.go as of
 * 2025-06-06). Measured against the real provider (test/provider-regions-terraform.test.ts): exactly
 * these pass its check; `ap-southeast-6` and `us-isob-west-1`, added to the list later, do not.
 */
export const PROVIDER_REGIONS: ReadonlySet<string> = new Set([
  // aws
  'af-south-1', 'ap-east-1', 'ap-east-2', 'ap-northeast-1', 'ap-northeast-2', 'ap-northeast-3', 'ap-south-1', 'ap-south-2',
  'ap-southeast-1', 'ap-southeast-2', 'ap-southeast-3', 'ap-southeast-4', 'ap-southeast-5', 'ap-southeast-7',
  'ca-central-1', 'ca-west-1', 'eu-central-1', 'eu-central-2', 'eu-north-1', 'eu-south-1', 'eu-south-2',
  'eu-west-1', 'eu-west-2', 'eu-west-3', 'il-central-1', 'me-central-1', 'me-south-1', 'mx-central-1', 'sa-east-1',
  'us-east-1', 'us-east-2', 'us-west-1', 'us-west-2',
  // aws-cn, aws-eusc, aws-iso, aws-iso-b, aws-iso-e, aws-iso-f, aws-us-gov
  'cn-north-1', 'cn-northwest-1', 'eusc-de-east-1', 'us-iso-east-1', 'us-iso-west-1', 'us-isob-east-1', 'eu-isoe-west-1',
  'us-isof-east-1', 'us-isof-south-1', 'us-gov-east-1', 'us-gov-west-1',
]);
