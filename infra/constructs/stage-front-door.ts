import { Aws, CfnRule, Duration, Fn, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as integrations from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as targets from 'aws-cdk-lib/aws-route53-targets';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import type { AppConfig, StageConfig } from '#shared/config.ts';
import { certificateRegion, certificateRegionProblem } from '#shared/domain.ts';
import { APP_CONTAINER_NAME } from '#shared/naming.ts';
import { type FrontDoor, frontDoorParameter } from '#shared/preview/front-door.ts';
import { DYNAMIC_HOST_PORTS } from './stage-cluster.ts';

/** A front door of either tier without its URL (the URL is known last: a custom domain replaces it). */
type FrontDoorIds = {
  [Scale in FrontDoor['scale']]: Omit<Extract<FrontDoor, { scale: Scale }>, 'url'>;
}[FrontDoor['scale']];

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
 *
 * Either way the stage publishes what a preview needs to be routed through it (the SSM String
 * parameter `frontDoorParameter(app, stage)`, JSON of `shared/preview/front-door.ts`, its
 * identifiers filled in by CloudFormation): the API, VPC link and Cloud Map namespace, or the
 * serving listener and the VPC.
 */
export class StageFrontDoor extends Construct {
  /** The URL that serves the app: `https://<domain.name>` with a custom domain. */
  readonly url: string;
  readonly httpApi?: apigwv2.HttpApi;
  readonly loadBalancer?: elbv2.ApplicationLoadBalancer;
  /** The hyperscale tier's target group of the service (its health is alerted on). */
  readonly targetGroup?: elbv2.ApplicationTargetGroup;
  /** The API Gateway custom domain (standard tier with `domain`). */
  readonly domainName?: apigwv2.DomainName;
  /** The DNS name `domain.name` must point at (alias or CNAME) when stackpilot does not write the record. */
  readonly domainTarget?: string;
  /** `frontDoorParameter(app, stage)`: the front door as the `preview` state machine reads it. */
  readonly parameter: ssm.StringParameter;

  constructor(scope: Construct, id: string, props: StageFrontDoorProps) {
    super(scope, id);
    const { stageConfig } = props;
    const certificateArn = stageConfig.domain?.certificateArn ?? stageConfig.certificateArn;
    if (certificateArn) {
      this.requireCertificateRegion(
        certificateArn,
        stageConfig.domain ? 'domain.certificateArn' : 'certificateArn',
        props,
      );
    }
    // What the preview state machine needs of this front door, besides its URL.
    let routing: FrontDoorIds;
    if (stageConfig.scale === 'standard') {
      const { api, stage, vpcLink, namespaceId } = this.standard(props);
      this.httpApi = api;
      this.url = api.apiEndpoint;
      routing = { scale: 'standard', apiId: api.apiId, vpcLinkId: vpcLink.vpcLinkId, namespaceId };
      if (stageConfig.domain) {
        this.domainName = new apigwv2.DomainName(this, 'Domain', {
          domainName: stageConfig.domain.name,
          certificate: acm.Certificate.fromCertificateArn(
            this,
            'DomainCertificate',
            stageConfig.domain.certificateArn,
          ),
          securityPolicy: apigwv2.SecurityPolicy.TLS_1_2,
        });
        new apigwv2.ApiMapping(this, 'DomainMapping', { api, domainName: this.domainName, stage });
        this.domainTarget = this.domainName.regionalDomainName;
      }
    } else {
      const { loadBalancer, targetGroup, listener } = this.hyperscale(props, certificateArn);
      this.loadBalancer = loadBalancer;
      this.targetGroup = targetGroup;
      const scheme = certificateArn ? 'https' : 'http';
      this.url = `${scheme}://${loadBalancer.loadBalancerDnsName}`;
      routing = { scale: 'hyperscale', listenerArn: listener.listenerArn, vpcId: props.vpc.vpcId };
      if (stageConfig.domain) this.domainTarget = loadBalancer.loadBalancerDnsName;
    }
    if (stageConfig.domain) {
      this.url = `https://${stageConfig.domain.name}`;
      if (stageConfig.domain.hostedZoneId)
        this.aliasRecord(stageConfig.domain.name, stageConfig.domain.hostedZoneId);
    }
    this.parameter = this.publish(props, { ...routing, url: this.url });
  }

  /**
   * The front door parameter: on every stage, so that moving `previews.stage` needs no other
   * change to the stage. The JSON is joined by CloudFormation (`Fn::Join` of the ids).
   */
  private publish(props: StageFrontDoorProps, frontDoor: FrontDoor): ssm.StringParameter {
    const { scale, url, ...ids } = frontDoor;
    return new ssm.StringParameter(this, 'Parameter', {
      parameterName: frontDoorParameter(props.app, props.stage),
      description: `stackpilot ${props.app}/${props.stage}: the ${scale} front door, for the previews routed through it`,
      // The schema's key order: scale, url, then the ids of the tier.
      stringValue: Stack.of(this).toJsonString({ scale, url, ...ids }),
      tier: ssm.ParameterTier.STANDARD,
    });
  }

  /**
   * Refuses a certificate the front door cannot use: at synth when the stack's region is known,
   * else with a template rule that stops the deploy before any resource changes.
   */
  private requireCertificateRegion(certificateArn: string, field: string, props: StageFrontDoorProps): void {
    const where = `stage ${props.app}/${props.stage}`;
    const region = Stack.of(this).region;
    if (!Token.isUnresolved(region)) {
      const problem = certificateRegionProblem(certificateArn, region, props.stageConfig.scale, field);
      if (problem) throw new Error(`${where}: ${problem}`);
      return;
    }
    const found = certificateRegion(certificateArn);
    new CfnRule(Stack.of(this), 'CertificateRegion', {
      assertions: [
        {
          assert: Fn.conditionEquals(Aws.REGION, found),
          assertDescription: `${where}: ${field} is a certificate of ${found}; the front door only takes a certificate of the region it is deployed to. Deploy to ${found} or use a certificate of this region.`,
        },
      ],
    });
  }

  /** An alias A record for the domain: to the API's regional domain, or to the load balancer. */
  private aliasRecord(name: string, hostedZoneId: string): void {
    // The zone's name is not in the configuration: a fully qualified record name (trailing dot) needs none.
    const zone = route53.HostedZone.fromHostedZoneId(this, 'Zone', hostedZoneId);
    const target = this.domainName
      ? new targets.ApiGatewayv2DomainProperties(
          this.domainName.regionalDomainName,
          this.domainName.regionalHostedZoneId,
        )
      : new targets.LoadBalancerTarget(this.loadBalancer as elbv2.ApplicationLoadBalancer);
    new route53.ARecord(this, 'DomainRecord', {
      zone,
      recordName: `${name}.`,
      target: route53.RecordTarget.fromAlias(target),
    });
  }

  private standard(props: StageFrontDoorProps): {
    api: apigwv2.HttpApi;
    stage: apigwv2.HttpStage;
    vpcLink: apigwv2.VpcLink;
    /** The Cloud Map namespace the service registers its tasks in. */
    namespaceId: string;
  } {
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
    const defaultStage = new apigwv2.HttpStage(this, 'DefaultStage', {
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
    return { api, stage: defaultStage, vpcLink, namespaceId: cloudMapService.namespace.namespaceId };
  }

  private hyperscale(
    props: StageFrontDoorProps,
    certificateArn?: string,
  ): {
    loadBalancer: elbv2.ApplicationLoadBalancer;
    targetGroup: elbv2.ApplicationTargetGroup;
    /** The listener that serves the app: HTTPS with a certificate (HTTP only redirects), else HTTP. */
    listener: elbv2.ApplicationListener;
  } {
    const { appConfig, vpc, service } = props;
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

    if (certificateArn) {
      const certificate = acm.Certificate.fromCertificateArn(this, 'Certificate', certificateArn);
      const https = loadBalancer.addListener('Https', {
        port: 443,
        certificates: [certificate],
        sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
      });
      const targetGroup = https.addTargets('Service', targets);
      loadBalancer.addRedirect({ sourcePort: 80, targetPort: 443 });
      return { loadBalancer, targetGroup, listener: https };
    }
    const http = loadBalancer.addListener('Http', { port: 80 });
    // Adding the service as a target opened the dynamic host ports from the load balancer to the instances.
    return { loadBalancer, targetGroup: http.addTargets('Service', targets), listener: http };
  }
}
