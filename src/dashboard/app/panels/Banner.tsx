export interface BannerView {
  text: string;
  level: 'warn' | 'error' | 'info';
  action?: { label: string; run: () => void };
}

/** The connection banner: reconnecting (and when), replaying, refused, a gateway notice. Hidden when all is well. */
export function Banner({ banner }: { banner: BannerView | null }) {
  if (!banner) return <div className="banner hidden" id="banner" role="status"></div>;
  return (
    <div className={`banner ${banner.level}`} id="banner" role="status">
      <span id="bannerText">{banner.text}</span>
      {banner.action ? (
        <button type="button" id="bannerAction" className="btn small" onClick={banner.action.run}>
          {banner.action.label}
        </button>
      ) : null}
    </div>
  );
}
