import { ArrayMaxSize, ArrayMinSize, IsArray, IsIn, IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { INSTRUMENT_PATTERN, MD_SUBSCRIBE_CHANNELS, type MdSubscribeChannel } from '#libs/contracts';

export class MdSubscribeDto {
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(500)
  @IsString({ each: true })
  @Matches(INSTRUMENT_PATTERN, { each: true, message: 'each instrument must look like EXCHANGE:SYMBOL' })
  instruments!: string[];

  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MD_SUBSCRIBE_CHANNELS.length)
  @IsIn(MD_SUBSCRIBE_CHANNELS, { each: true })
  channels!: MdSubscribeChannel[];

  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(60_000)
  throttleMs?: number;

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(50)
  depth?: number;
}
