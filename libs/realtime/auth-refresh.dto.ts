import { IsJWT, IsString, MaxLength } from 'class-validator';

export class AuthRefreshDto {
  @IsString()
  @MaxLength(16_384)
  @IsJWT()
  token!: string;
}
