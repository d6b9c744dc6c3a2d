import { IsIn, IsInt, IsOptional, IsString, Length, Matches, Max, Min } from 'class-validator';
import { NOTICE_SEVERITIES, type NoticeSeverity } from '#libs/contracts';

/** Tenants and users as tokens name them (`tenant`, `sub`): the same bounds the token check applies. */
const ID_LENGTH = [1, 256] as const;
/** What a dashboard can show in a banner. */
const MESSAGE_LENGTH = [1, 500] as const;

/** `POST /admin/disconnect`: one connection (`connectionId`), a user (`tenant` and `userId`) or a tenant (`tenant`). */
export class DisconnectRequestDto {
  /** A connection's id as its `welcome` gave it (one namespace's connection). */
  @IsOptional()
  @IsString()
  @Length(1, 64)
  connectionId?: string;

  @IsOptional()
  @IsString()
  @Length(...ID_LENGTH)
  tenant?: string;

  @IsOptional()
  @IsString()
  @Length(...ID_LENGTH)
  userId?: string;

  /** Told to the client in `system` `{ type: "disconnect", message }`. */
  @IsString()
  @Length(...MESSAGE_LENGTH)
  reason!: string;

  /** The client may come back after this long (spread over it); absent: it should not reconnect by itself. */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(3_600_000)
  reconnectInMs?: number;
}

/** `POST /admin/notice`: to every connection, a tenant's (`tenant`) or a user's (`tenant` and `userId`). */
export class NoticeRequestDto {
  @IsString()
  @Length(...MESSAGE_LENGTH)
  message!: string;

  @IsOptional()
  @IsIn(NOTICE_SEVERITIES)
  severity?: NoticeSeverity;

  @IsOptional()
  @IsString()
  @Length(...ID_LENGTH)
  tenant?: string;

  @IsOptional()
  @IsString()
  @Length(...ID_LENGTH)
  userId?: string;
}

/** `POST /admin/rate-limit/unblock`: a user of a tenant. */
export class UnblockRequestDto {
  @IsString()
  @Length(...ID_LENGTH)
  tenant!: string;

  @IsString()
  @Length(...ID_LENGTH)
  userId!: string;
}

/** `GET /admin/users/:userId/connections?tenant=`: the query (without `tenant`, the user id in every tenant). */
export class UserConnectionsQueryDto {
  @IsOptional()
  @IsString()
  @Length(...ID_LENGTH)
  tenant?: string;
}

/** The same, with the user id from the path: what every replica is asked. */
export class UserConnectionsRequestDto extends UserConnectionsQueryDto {
  @IsString()
  @Length(...ID_LENGTH)
  userId!: string;
}

/** `GET /admin/usage?reset=true`. */
export class UsageQueryDto {
  @IsOptional()
  @Matches(/^(true|false|1|0)$/, { message: 'reset must be true or false' })
  reset?: string;
}
