import { RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

export interface StageNetworkProps {
  /**
   * Availability zones the VPC spans (tasks are spread across them).
   * @default 2
   */
  readonly maxAzs?: number;
}

/**
 * The VPC of one stage, designed for cost: public subnets in two availability zones and no
 * NAT gateway. Instances get public IPv4 addresses and reach ECR, CloudWatch Logs, ECS and
 * SSM through the internet gateway; their security group admits nothing but the front door,
 * so being addressable is not being reachable. A NAT gateway would cost about $33 a month per
 * AZ, more than the instances of a development stage.
 */
export class StageNetwork extends Construct {
  readonly vpc: ec2.Vpc;

  constructor(scope: Construct, id: string, props: StageNetworkProps = {}) {
    super(scope, id);
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr('10.0.0.0/16'),
      maxAzs: props.maxAzs ?? 2,
      natGateways: 0,
      // Nothing uses the default security group; strip its rules (the recommended feature flag, made explicit).
      restrictDefaultSecurityGroup: true,
      subnetConfiguration: [{ name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 }],
    });
    // Rejected flows only: the cheap half of flow logs, and the half that explains a blocked request.
    const flowLogs = new logs.LogGroup(this, 'FlowLogs', {
      retention: logs.RetentionDays.TWO_WEEKS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.vpc.addFlowLog('FlowLog', {
      trafficType: ec2.FlowLogTrafficType.REJECT,
      destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs),
    });
  }
}
