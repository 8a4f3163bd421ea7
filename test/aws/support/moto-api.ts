/**
 * Raw calls to moto for the services the project has no SDK client for (EC2, IAM, SQS): the
 * suite needs them only to create what the templates declare (VPC, subnets, launch template,
 * roles) and to read the SQS queue an EventBridge rule targets. moto routes a request by the
 * service in the credential scope of its Authorization header and does not check signatures.
 */
export interface MotoAccount {
  readonly endpoint: string;
  readonly accountId: string;
  readonly region: string;
}

function headers(account: MotoAccount, service: string, extra: Record<string, string>) {
  return {
    authorization: `AWS4-HMAC-SHA256 Credential=test/20260101/${account.region}/${service}/aws4_request, SignedHeaders=host, Signature=0`,
    'x-moto-account-id': account.accountId,
    ...extra,
  };
}

/** An AWS Query protocol call (EC2, IAM); returns the XML answer, throws on an error answer. */
export async function queryCall(
  account: MotoAccount,
  service: 'ec2' | 'iam' | 'sns',
  action: string,
  params: Readonly<Record<string, string>>,
): Promise<string> {
  const version = { ec2: '2016-11-15', iam: '2010-05-08', sns: '2010-03-31' }[service];
  const body = new URLSearchParams({ Action: action, Version: version, ...params });
  const response = await fetch(`${account.endpoint}/`, {
    method: 'POST',
    headers: headers(account, service, { 'content-type': 'application/x-www-form-urlencoded' }),
    body,
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${service} ${action} answered HTTP ${response.status}: ${text}`);
  return text;
}

/** An AWS JSON 1.0 protocol call to SQS. */
export async function sqsCall<T>(account: MotoAccount, action: string, input: unknown): Promise<T> {
  const response = await fetch(`${account.endpoint}/`, {
    method: 'POST',
    headers: headers(account, 'sqs', {
      'content-type': 'application/x-amz-json-1.0',
      'x-amz-target': `AmazonSQS.${action}`,
    }),
    body: JSON.stringify(input),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`sqs ${action} answered HTTP ${response.status}: ${text}`);
  return (text ? JSON.parse(text) : {}) as T;
}

/** The text of the first `<tag>` of an XML answer; an error naming the tag when there is none. */
export function xmlValue(xml: string, tag: string): string {
  const found = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml)?.[1];
  if (found === undefined) throw new Error(`no <${tag}> in the answer: ${xml.slice(0, 500)}`);
  return found;
}

/** `Key.1=a&Key.2=b` members of a Query list parameter. */
export function queryList(name: string, values: readonly string[]): Record<string, string> {
  return Object.fromEntries(values.map((value, i) => [`${name}.${i + 1}`, value]));
}
