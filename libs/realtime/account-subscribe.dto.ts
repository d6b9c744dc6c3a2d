import { ArrayMaxSize, IsArray, IsObject, IsOptional, IsString, Matches, MaxLength } from 'class-validator';

const ACCOUNT_ID = /^[A-Za-z0-9_-]{1,64}$/;

export class AccountSubscribeDto {
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(1_000)
  @IsString({ each: true })
  @MaxLength(64, { each: true })
  @Matches(ACCOUNT_ID, { each: true, message: 'each account must be 1-64 letters, digits, "_" or "-"' })
  accounts?: string[];

  /** `{ [account]: lastSeenSeq }`; checked value by value in the gateway (class-validator has no map-of-int rule). */
  @IsOptional()
  @IsObject()
  since?: Record<string, number>;
}

export class AccountUnsubscribeDto {
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(1_000)
  @IsString({ each: true })
  @Matches(ACCOUNT_ID, { each: true, message: 'each account must be 1-64 letters, digits, "_" or "-"' })
  accounts?: string[];
}
