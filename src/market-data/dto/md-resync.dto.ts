import { IsString, Matches } from 'class-validator';

export class MdResyncDto {
  @IsString()
  @Matches(/^(quote|trade|book|status):[A-Z0-9_]{1,16}:[A-Z0-9._-]{1,32}$/, { message: 'stream must look like channel:EXCHANGE:SYMBOL' })
  stream!: string;
}
