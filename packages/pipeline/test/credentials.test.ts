// The one check that keeps credentials out of the URLs and image repositories slipway logs (src/plan/credentials.ts).
import { refuseCredentials } from '../src/plan/credentials';

describe('refuseCredentials', () => {
  it.each([
    ['u:s3cretPW@127.0.0.1:9/x', 's3cretPW'],
    ['deploy-s3cretUSER@registry.example.com/group/project', 's3cretUSER'],
    [' ci:s3cretPW@registry.example.com/group/project ', 's3cretPW'],
    ['s3cretPW@registry.example.com/group/project', 's3cretPW'],
    ['https://ci:s3cretPW@example.com', 's3cretPW'],
    ['https://s3cretUSER@example.com/path', 's3cretUSER'],
    ['HTTP://ci:s3cretPW@example.com', 's3cretPW'],
    ['https://ci:s3cret@PW@example.com', 's3cret@PW'],
    ['https://ci:s3cretPW@example.com\\path', 's3cretPW'],
    // Shapes a WHATWG URL parser reads as credentials too (found by a second newcomer).
    ['https:////u:s3cretPW@h.example', 's3cretPW'],
    ['https:/u:s3cretPW@h.example', 's3cretPW'],
    ['https:\\\\u:s3cretPW@h.example', 's3cretPW'],
    ['\x01https://u:s3cretPW@h.example', 's3cretPW'],
    ['ht\ttps://u:s3cretPW@h.example', 's3cretPW'],
    ['https://u:s3cret\nPW@h.example', 's3cret'],
    ['ftp:////u:s3cretPW@h.example', 's3cretPW'],
    ['//u:s3cretPW@registry.example/g/p', 's3cretPW'],
    ['oci:////u:s3cretPW@registry.example/g/p', 's3cretPW'],
  ])('refuses %j, naming the variable and never the value', (value, secret) => {
    const refusal = (() => {
      try {
        refuseCredentials('SOME_VARIABLE', value, 'they belong in SOME_OTHER_VARIABLE');
        return 'accepted';
      } catch (error) {
        return (error as Error).message;
      }
    })();
    expect(refusal).toBe(
      'SOME_VARIABLE must not contain credentials (user:password@ or user@ before the host); ' +
        'they belong in SOME_OTHER_VARIABLE',
    );
    expect(refusal).not.toContain(secret);
  });

  it('refuses any @ in an image repository, where it never belongs (anyAt)', () => {
    for (const repository of ['registry.example\\u:s3cretPW@x/g', 'registry.example/g/u:s3cretPW@x']) {
      expect(() => refuseCredentials('CI_REGISTRY_IMAGE', repository, undefined, { anyAt: true })).toThrow(
        /^CI_REGISTRY_IMAGE must not contain credentials \(user:password@ or user@ before the host\)$/,
      );
    }
    expect(() =>
      refuseCredentials('CI_REGISTRY_IMAGE', 'registry.example/g/p', undefined, { anyAt: true }),
    ).not.toThrow();
  });

  it.each([
    'registry.gitlab.com/group/project',
    '127.0.0.1:5000/slipway',
    'localhost:5000/a@b',
    'https://staging.example.com',
    'https://staging.example.com/path/@user',
    'https://staging.example.com?who=a@b',
    'https://staging.example.com#a@b',
  ])('accepts %j, which has no credentials before its host', (value) => {
    expect(() => refuseCredentials('SOME_VARIABLE', value)).not.toThrow();
  });
});
