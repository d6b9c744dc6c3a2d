import { readFileSync } from 'node:fs';
import { ROLES } from '#libs/contracts';
import type { AuthenticatedUser } from './authenticated-user.js';

export interface AccountEntry {
  account: string;
  tenant: string;
  name?: string;
}

/** Which tenant owns which trading account (ACCOUNTS_FILE): what a `supervisor` may see beyond its token's list. */
export class AccountDirectory {
  private readonly tenantByAccount = new Map<string, string>();
  private readonly accountsByTenant = new Map<string, string[]>();

  constructor(entries: AccountEntry[]) {
    for (const { account, tenant } of entries) {
      this.tenantByAccount.set(account, tenant);
      const list = this.accountsByTenant.get(tenant) ?? [];
      list.push(account);
      this.accountsByTenant.set(tenant, list);
    }
  }

  static fromFile(path: string): AccountDirectory {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(path, 'utf8'));
    } catch (error) {
      throw new Error(`ACCOUNTS_FILE ${path} cannot be read as JSON: ${String(error)}`);
    }
    if (!Array.isArray(parsed) || !parsed.every((e: unknown) => typeof (e as AccountEntry)?.account === 'string' && typeof (e as AccountEntry)?.tenant === 'string')) {
      throw new Error(`ACCOUNTS_FILE ${path} must hold a JSON array of { account, tenant }`);
    }
    return new AccountDirectory(parsed as AccountEntry[]);
  }

  /** Every account, in file order. */
  allAccounts(): string[] {
    return [...this.tenantByAccount.keys()];
  }

  tenantOf(account: string): string | undefined {
    return this.tenantByAccount.get(account);
  }

  accountsOf(tenant: string): string[] {
    return this.accountsByTenant.get(tenant) ?? [];
  }

  /** The accounts a user may watch: the token's own, plus every account of its tenant for a supervisor. */
  visibleAccounts(user: AuthenticatedUser): string[] {
    if (!user.roles.includes(ROLES.supervisor)) return user.accounts;
    return [...new Set([...user.accounts, ...this.accountsOf(user.tenant)])];
  }

  canSee(user: AuthenticatedUser, account: string): boolean {
    if (user.accounts.includes(account)) return true;
    return user.roles.includes(ROLES.supervisor) && this.tenantOf(account) === user.tenant;
  }
}
