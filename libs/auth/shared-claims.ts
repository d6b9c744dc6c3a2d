import type { Licence } from '#libs/contracts';

/** Distinct licences (and role lists) kept for sharing; past it, a new one is used as it is, unshared. */
const DEFAULT_MAX_SHARED = 1_000;

/**
 * The licence and the role list a token carries are the same for most users (one licence per tier, a few role sets):
 * tokens carrying equal ones get one shared copy, so that a connection does not keep its own for its whole life (a
 * licence with its arrays is about 250 bytes of heap). Shared copies are frozen: a change made through one user would
 * otherwise reach every other, and nothing changes a verified token's claims. Bounded by `maxShared` distinct values
 * of each kind.
 */
export class SharedClaims {
  private readonly licences = new Map<string, Licence>();
  private readonly roleLists = new Map<string, string[]>();

  constructor(private readonly maxShared = DEFAULT_MAX_SHARED) {}

  licence(licence: Licence): Licence {
    return shared(this.licences, JSON.stringify(licence), licence, this.maxShared, freezeLicence);
  }

  roles(roles: string[]): string[] {
    // JSON, not a join: no role name can make two different lists look alike.
    return shared(this.roleLists, JSON.stringify(roles), roles, this.maxShared, freezeList);
  }
}

function shared<T>(cache: Map<string, T>, key: string, value: T, max: number, freeze: (value: T) => T): T {
  const known = cache.get(key);
  if (known !== undefined) return known;
  if (cache.size >= max) return value;
  const frozen = freeze(value);
  cache.set(key, frozen);
  return frozen;
}

function freezeList(list: string[]): string[] {
  Object.freeze(list);
  return list;
}

function freezeLicence(licence: Licence): Licence {
  Object.freeze(licence.exchanges);
  Object.freeze(licence.channels);
  Object.freeze(licence.features);
  Object.freeze(licence);
  return licence;
}
