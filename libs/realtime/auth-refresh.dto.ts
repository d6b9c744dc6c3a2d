import { IsJWT, IsString } from 'class-validator';

export class AuthRefreshDto {
  // No length cap here: the token size limit is the TokenVerifier's, the same for the handshake and HTTP.
  @IsString()
  @IsJWT()
  token!: string;
}
