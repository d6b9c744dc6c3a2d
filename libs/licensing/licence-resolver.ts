import type { Licence } from '#libs/contracts';

/** The parts of a user a licence is resolved from (kept structural so this library does not depend on auth). */
export interface LicenceHolder {
  userId: string;
  tenant: string;
  licence?: Licence;
}

/**
 * Resolves the licence that applies to a user: the token's `lic` claim, else the deployment's default. A licence
 * registry, where one is configured, slots in ahead of the token (it wins over it).
 */
export class LicenceResolver {
  constructor(private readonly defaultLicence: Licence) {}

  resolve(holder: LicenceHolder): Licence {
    return holder.licence ?? this.defaultLicence;
  }
}
