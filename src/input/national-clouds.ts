/**
 * Microsoft Graph in the national clouds. The message trace API exists only in the global service:
 * Microsoft's page for the API lists US Government L4 (GCC High), L5 (DoD) and China (21Vianet) as not
 * available. GCC tenants use the global Graph host and are not affected.
 * https://learn.microsoft.com/graph/api/messagetracingroot-list-messagetraces (National cloud availability)
 * https://learn.microsoft.com/graph/deployments
 */

export interface NationalCloud {
  /** How Microsoft names the cloud. */
  cloud: string;
  /** `-ExchangeEnvironmentName` of Connect-ExchangeOnline for that cloud. */
  exchangeEnvironment: string;
}

export const NATIONAL_CLOUD_GRAPH_HOSTS: Readonly<Record<string, NationalCloud>> = {
  'graph.microsoft.us': { cloud: 'US Government L4 (GCC High)', exchangeEnvironment: 'O365USGovGCCHigh' },
  'dod-graph.microsoft.us': { cloud: 'US Government L5 (DoD)', exchangeEnvironment: 'O365USGovDoD' },
  'microsoftgraph.chinacloudapi.cn': { cloud: 'China operated by 21Vianet', exchangeEnvironment: 'O365China' },
};

/** The national cloud a Graph host belongs to, or undefined for the global service and anything else. */
export function nationalCloudOf(hostname: string): NationalCloud | undefined {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  return Object.hasOwn(NATIONAL_CLOUD_GRAPH_HOSTS, host) ? NATIONAL_CLOUD_GRAPH_HOSTS[host] : undefined;
}

/** Why such a `url` cannot work, and what to use instead; said before any request is made. */
export function nationalCloudRefusal(hostname: string, cloud: NationalCloud): string {
  return (
    `points at ${hostname}, Microsoft Graph in ${cloud.cloud}. The Graph message trace API is offered only in Microsoft's global service ` +
    `(https://graph.microsoft.com); Microsoft lists it as not available in US Government L4, L5 (DoD) and China (21Vianet), so this integration cannot collect from that cloud. ` +
    `Use Exchange Online PowerShell instead: Connect-ExchangeOnline -ExchangeEnvironmentName ${cloud.exchangeEnvironment}, then Get-MessageTraceV2 (and Get-MessageTraceDetailV2 for the steps of one message)`
  );
}
