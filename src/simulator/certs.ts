/**
 * Key material generated at start: a CA that clients can trust (so TLS verification stays ON), the
 * loopback server certificate it signs, the application's own certificate for client-assertion auth,
 * and the key Entra uses to sign tokens. CA and server use P-256 because it is generated in
 * milliseconds; the app certificate is RSA 2048 because that is what Entra accepts for assertions.
 */
import { createHash, createPublicKey, generateKeyPair, type KeyObject, webcrypto } from 'node:crypto';
import { promisify } from 'node:util';
import * as x509 from '@peculiar/x509';

export interface CertificateSet {
  caCertPem: string;
  serverCertPem: string;
  serverKeyPem: string;
  appCertPem: string;
  appKeyPem: string;
  appPublicKey: KeyObject;
  /** SHA-1 of the app certificate's DER, hex uppercase (as the Entra portal shows it). */
  appThumbprintSha1: string;
  appThumbprintSha256: string;
  /** Key that signs access and id tokens. */
  tokenSigningKey: KeyObject;
  tokenVerifyKey: KeyObject;
  tokenKeyId: string;
}

const crypto = webcrypto;
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const EC_SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;
const RSA = {
  name: 'RSASSA-PKCS1-v1_5',
  hash: 'SHA-256',
  publicExponent: new Uint8Array([1, 0, 1]),
  modulusLength: 2048,
} as const;

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

function serial(): string {
  // Positive, non-zero 16-byte serial.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x01;
  return Buffer.from(bytes).toString('hex');
}

export async function generateCertificates(nowMs: number): Promise<CertificateSet> {
  // Certificates are checked by TLS against the wall clock, not the simulator's (possibly virtual) clock.
  // The RSA keys take longest; generate them in parallel on the thread pool.
  const tokenKeysPromise = promisify(generateKeyPair)('rsa', { modulusLength: 2048 });
  const appKeysPromise = crypto.subtle.generateKey(RSA, true, ['sign', 'verify']) as Promise<webcrypto.CryptoKeyPair>;
  const wall = Date.now();
  const notBefore = new Date(Math.min(wall, nowMs) - 86_400_000);
  const notAfter = new Date(Math.max(wall, nowMs) + 365 * 86_400_000);

  const caKeys = (await crypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: 'CN=O365 Message Trace Simulator CA, O=Simulated Tenant',
    notBefore,
    notAfter,
    signingAlgorithm: EC_SIGN,
    keys: caKeys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });

  const serverKeys = (await crypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const server = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: 'CN=127.0.0.1',
    issuer: ca.subject,
    notBefore,
    notAfter,
    signingAlgorithm: EC_SIGN,
    publicKey: serverKeys.publicKey,
    signingKey: caKeys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        { type: 'ip', value: '127.0.0.1' },
        { type: 'dns', value: 'localhost' },
      ]),
      await x509.AuthorityKeyIdentifierExtension.create(ca),
      await x509.SubjectKeyIdentifierExtension.create(serverKeys.publicKey),
    ],
  });

  const appKeys = await appKeysPromise;
  const app = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: 'CN=o365-message-trace-collector',
    notBefore,
    notAfter,
    signingAlgorithm: RSA,
    keys: appKeys,
    extensions: [new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true)],
  });

  const serverKeyPem = pem('PRIVATE KEY', await crypto.subtle.exportKey('pkcs8', serverKeys.privateKey));
  const appKeyPem = pem('PRIVATE KEY', await crypto.subtle.exportKey('pkcs8', appKeys.privateKey));
  const appDer = Buffer.from(app.rawData);
  const appCertPem = app.toString('pem');

  const tokenKeys = await tokenKeysPromise;
  const tokenKeyId = createHash('sha256')
    .update(tokenKeys.publicKey.export({ type: 'spki', format: 'der' }))
    .digest('base64url')
    .slice(0, 27);

  return {
    caCertPem: `${ca.toString('pem')}\n`,
    serverCertPem: `${server.toString('pem')}\n`,
    serverKeyPem,
    appCertPem: `${appCertPem}\n`,
    appKeyPem,
    appPublicKey: createPublicKey(appCertPem),
    appThumbprintSha1: createHash('sha1').update(appDer).digest('hex').toUpperCase(),
    appThumbprintSha256: createHash('sha256').update(appDer).digest('hex').toUpperCase(),
    tokenSigningKey: tokenKeys.privateKey,
    tokenVerifyKey: tokenKeys.publicKey,
    tokenKeyId,
  };
}
