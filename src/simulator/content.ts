/**
 * Vocabulary for realistic trace rows: people, domains, subjects, IP ranges. Kept apart from the
 * generator so the generator reads as the model (what a row is) and this file as the scenery.
 * Subjects deliberately include both quote kinds, non-ASCII scripts and emoji so that clients'
 * OData string escaping and UTF-8 handling are exercised by ordinary data.
 */

export const TENANT_DOMAIN = 'contoso.com';
export const TENANT_INITIAL_DOMAIN = 'contoso.onmicrosoft.com';

const FIRST = [
  'adele', 'alex', 'allan', 'bianca', 'brian', 'christie', 'debra', 'diego', 'emily', 'enrico',
  'grady', 'henrietta', 'irvin', 'isaiah', 'johanna', 'joni', 'lee', 'lidia', 'lynne', 'megan',
  'miriam', 'nestor', 'patti', 'pradeep', 'raul', 'sanjay', 'sean', 'yuki', 'zrinka', 'mohammed',
];
const LAST = [
  'vance', 'wilber', 'johnson', 'jones', 'adams', 'smith', 'garcia', 'rossi', 'stevens', 'sherman',
  'lee', 'kim', 'gupta', 'nakamura', 'muller', 'obrien', 'dubois', 'kowalski', 'silva', 'nguyen',
];

/** Internal mailboxes, a few with characters that need care in OData literals (apostrophe, plus). */
export const INTERNAL_USERS: readonly string[] = (() => {
  const users: string[] = [];
  for (let i = 0; i < FIRST.length; i++) {
    for (let j = 0; j < 4; j++) {
      const first = FIRST[i] as string;
      const last = LAST[(i * 7 + j * 3) % LAST.length] as string;
      users.push(j === 0 ? `${first}@${TENANT_DOMAIN}` : `${first}.${last}@${TENANT_DOMAIN}`);
    }
  }
  users.push(`o'brien.sean@${TENANT_DOMAIN}`, `patti+alerts@${TENANT_DOMAIN}`, `Helpdesk@${TENANT_DOMAIN}`);
  users.push(`admin@${TENANT_INITIAL_DOMAIN}`);
  return users;
})();

/** Distribution lists: rows for them end as `expanded` (the message was expanded to members). */
export const DISTRIBUTION_LISTS: readonly string[] = [
  `all-staff@${TENANT_DOMAIN}`,
  `sales@${TENANT_DOMAIN}`,
  `it-ops@${TENANT_DOMAIN}`,
];

export const EXTERNAL_DOMAINS: readonly string[] = [
  'fabrikam.com', 'northwindtraders.com', 'adventure-works.com', 'tailspintoys.com', 'wingtiptoys.com',
  'litwareinc.com', 'woodgrovebank.com', 'gmail.com', 'outlook.com', 'yahoo.co.jp', 'web.de', 'mail.ru',
  'example.org', 'lamnahealthcare.com', 'proseware.com', 'alpineskihouse.com', 'marketing-blast.biz',
];

const EXTERNAL_LOCALS = [
  'info', 'billing', 'noreply', 'no-reply', 'support', 'jane.doe', 'john.smith', 'j.o\'connor',
  'newsletter', 'orders', 'hr', 'ceo', 'security-alerts', 'Max.Mustermann', 'tanaka.h', 'ivan.petrov',
];

export function externalAddress(localIndex: number, domainIndex: number): string {
  const local = EXTERNAL_LOCALS[localIndex % EXTERNAL_LOCALS.length] as string;
  const domain = EXTERNAL_DOMAINS[domainIndex % EXTERNAL_DOMAINS.length] as string;
  return `${local}@${domain}`;
}

export const EXTERNAL_LOCAL_COUNT = EXTERNAL_LOCALS.length;

/** `{n}` is replaced by a number, `{c}` by a company name. */
export const SUBJECTS: readonly string[] = [
  'Invoice {n} for {c}',
  'RE: Q{q} budget review',
  'FW: "Project Phoenix" kickoff',
  "Don't forget: team lunch on Friday",
  "O'Reilly's \"weekly\" digest #{n}",
  'Réunion d’équipe – ordre du jour',
  "Ihre Bestellung {n} wurde versandt",
  '会議のお知らせ（{n}）',
  'Привет! Отчёт за неделю {n}',
  '🎉 Congratulations on your {n}-year anniversary!',
  'Password expiry notice',
  '[EXTERNAL] Payment overdue – action required',
  'Meeting notes: "roadmap" & next steps',
  'Automatic reply: Out of office',
  'Your order #{n} has shipped',
  'Weekly status report – week {n}',
  'Re: Re: contract draft v{n}',
  'Ünïcödé test: naïve café façade',
  '',
];

export const SPAM_SUBJECTS: readonly string[] = [
  "You've WON a $1000 gift card!!!",
  'Urgent: verify your account within 24 hours',
  'RE: "Outstanding" invoice – please review attached',
  'Cheap meds 💊 no prescription',
];

export const COMPANIES: readonly string[] = ['Fabrikam', 'Northwind', 'Contoso', 'Tailspin', "Litware's"];

/** Public IPv4 prefixes (first two octets) standing in for sending/receiving SMTP servers. */
export const PUBLIC_V4_PREFIXES: readonly string[] = [
  '40.107', '52.100', '104.47', '209.85', '74.125', '198.2', '185.12', '81.169', '94.100', '217.72',
];

/** Microsoft 365 outbound ranges, used as `fromIP` for mail sent from the tenant. */
export const TENANT_V4_PREFIXES: readonly string[] = ['40.92', '52.101', '20.88'];
export const TENANT_V6_PREFIX = '2a01:111:f403';
/** Senders' mail servers reached over IPv6 (large mail providers' /48s). */
export const PUBLIC_V6_PREFIXES: readonly string[] = ['2607:f8b0:4864', '2a00:1450:4864', '2001:4860:4864', '2a01:111:f400'];
