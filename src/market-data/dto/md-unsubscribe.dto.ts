import { ArrayMaxSize, ArrayMinSize, IsArray, IsIn, IsOptional, IsString, Matches } from 'class-validator';
import { INSTRUMENT_PATTERN, MD_SUBSCRIBE_CHANNELS, type MdSubscribeChannel } from '#libs/contracts';

export class MdUnsubscribeDto {
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(500)
  @IsString({ each: true })
  @Matches(INSTRUMENT_PATTERN, { each: true, message: 'each instrument must look like EXCHANGE:SYMBOL' })
  instruments!: string[];

  @IsOptional()
  @IsArray()
  @IsIn(MD_SUBSCRIBE_CHANNELS, { each: true })
  channels?: MdSubscribeChannel[];
}
