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
