import { IsString, Matches } from 'class-validator';
import { INSTRUMENT_PATTERN, MD_SUBSCRIBE_CHANNELS } from '#libs/contracts';

/** `channel:EXCHANGE:SYMBOL` for every market-data channel of the contract. */
const STREAM_PATTERN = new RegExp(`^(${MD_SUBSCRIBE_CHANNELS.join('|')}):${INSTRUMENT_PATTERN.source.slice(1)}`);

export class MdResyncDto {
  @IsString()
  @Matches(STREAM_PATTERN, { message: 'stream must look like channel:EXCHANGE:SYMBOL' })
  stream!: string;
}
