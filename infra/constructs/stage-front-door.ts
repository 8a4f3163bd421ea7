import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as integrations from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { AppConfig, StageConfig } from '../../shared/config.ts';
import { APP_CONTAINER_NAME } from '../../shared/naming.ts';
import { DYNAMIC_HOST_PORTS } from './stage-cluster.ts';

/** Steady-state and burst request limits of the standard tier's API (requests per second). */
export interface ApiThrottle {
  readonly rateLimit: number;
  readonly burstLimit: number;
}

/** Defaults well under API Gateway's account quota (10,000 rps), so one stage cannot starve the others. */
export const DEFAULT_API_THROTTLE: ApiThrottle = { rateLimit: 1000, burstLimit: 2000 };

export interface StageFrontDoorProps {
  readonly app: string;
  readonly stage: string;
  readonly appConfig: AppConfig;
  readonly stageConfig: StageConfig;
  readonly vpc: ec2.IVpc;
  readonly service: ecs.Ec2Service;
  /** Security group of the container instances: the front door is the only thing it admits. */
  readonly instanceSecurityGroup: ec2.ISecurityGroup;
  /** @default DEFAULT_API_THROTTLE */
  readonly throttle?: ApiThrottle;
}

/**
 * The public entry of a stage.
 *
 * - `standard`: an API Gateway HTTP API whose `$default` route goes through a VPC link to
 *   the service's Cloud Map SRV records (ECS registers each task's host IP and dynamic port).
 *   No load balancer: nothing is billed by the hour, only requests.
 * - `hyperscale`: an internet-facing Application Load Balancer with a target group on the
 *   service, health checked on the configured path; HTTPS with HTTP redirected to it when a
 *   certificate ARN is configured.
 */
export class StageFrontDoor extends Construct {
  /** The URL that serves the app. */
  readonly url: string;
  readonly httpApi?: apigwv2.HttpApi;
  readonly loadBalancer?: elbv2.ApplicationLoadBalancer;

  constructor(scope: Construct, id: string, props: StageFrontDoorProps) {
    super(scope, id);
    if (props.stageConfig.scale === 'standard') {
      this.httpApi = this.standard(props);
      this.url = this.httpApi.apiEndpoint;
    } else {
      this.loadBalancer = this.hyperscale(props);
      const scheme = props.stageConfig.certificateArn ? 'https' : 'http';
      this.url = `${scheme}://${this.loadBalancer.loadBalancerDnsName}`;
    }
  }

  private standard(props: StageFrontDoorProps): apigwv2.HttpApi {
    const { app, stage, vpc, service } = props;
    const cloudMapService = service.cloudMapService;
    if (!cloudMapService) {
      throw new Error(`stage ${app}/${stage}: the standard tier needs the service registered in Cloud Map`);
    }
    const linkSecurityGroup = new ec2.SecurityGroup(this, 'VpcLinkSecurityGroup', {
      vpc,
      description: `stackpilot ${app}/${stage}: API Gateway VPC link`,
      allowAllOutbound: false,
    });
    linkSecurityGroup.connections.allowTo(
      props.instanceSecurityGroup,
      DYNAMIC_HOST_PORTS,
      'API Gateway to tasks',
    );
    const vpcLink = new apigwv2.VpcLink(this, 'VpcLink', {
      vpc,
      subnets: { subnetType: ec2.SubnetType.PUBLIC },
      securityGroups: [linkSecurityGroup],
    });
    const api = new apigwv2.HttpApi(this, 'Api', {
      apiName: `stackpilot-${app}-${stage}`,
      description: `stackpilot ${app}/${stage}`,
      createDefaultStage: false,
      defaultIntegration: new integrations.HttpServiceDiscoveryIntegration('Service', cloudMapService, {
        vpcLink,
      }),
    });
    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const throttle = props.throttle ?? DEFAULT_API_THROTTLE;
    new apigwv2.HttpStage(this, 'DefaultStage', {
      httpApi: api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: throttle.rateLimit, burstLimit: throttle.burstLimit },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(accessLogs),
        format: apigw.AccessLogFormat.clf(),
      },
    });
    for (const route of api.node.findAll()) {
      if (route instanceof apigwv2.HttpRoute) {
        Validations.of(route).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason:
            'The route serves a public web application; authentication is the application’s own concern.',
        });
      }
    }
    return api;
  }

  private hyperscale(props: StageFrontDoorProps): elbv2.ApplicationLoadBalancer {
    const { appConfig, stageConfig, vpc, service } = props;
    const loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'LoadBalancer', {
      vpc,
      internetFacing: true,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      dropInvalidHeaderFields: true,
    });
    Validations.of(loadBalancer).acknowledge({
      id: 'AwsSolutions-ELB2',
      reason:
        'Access logs need an S3 bucket with the regional ELB account in its policy and cost storage per request; enable them per stage when required.',
    });
    Validations.of(loadBalancer).acknowledge({
      id: 'AwsSolutions-EC23',
      reason: 'An internet-facing load balancer serving a public web app admits HTTP(S) from anywhere.',
    });

    const targets = {
      port: 80,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targets: [
        service.loadBalancerTarget({
          containerName: APP_CONTAINER_NAME,
          containerPort: appConfig.containerPort,
        }),
      ],
      healthCheck: {
        // The task's host port is dynamic (bridge mode): check the port the target was registered on.
        port: 'traffic-port',
        path: appConfig.healthCheckPath,
        healthyHttpCodes: '200-399',
        interval: Duration.seconds(15),
        healthyThresholdCount: 2,
        unhealthyThresholdCount: 3,
      },
      // Connections of a replaced task drain for 30 s instead of the default 300 s: releases finish sooner.
      deregistrationDelay: Duration.seconds(30),
    };

    if (stageConfig.certificateArn) {
      const certificate = acm.Certificate.fromCertificateArn(this, 'Certificate', stageConfig.certificateArn);
      const https = loadBalancer.addListener('Https', {
        port: 443,
        certificates: [certificate],
        sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
      });
      https.addTargets('Service', targets);
      loadBalancer.addRedirect({ sourcePort: 80, targetPort: 443 });
    } else {
      const http = loadBalancer.addListener('Http', { port: 80 });
      http.addTargets('Service', targets);
    }
    // Adding the service as a target opened the dynamic host ports from the load balancer to the instances.
    return loadBalancer;
  }
}
