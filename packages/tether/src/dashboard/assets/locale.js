// Runs before uPlot, which formats numbers with `navigator.language` when it loads. Under LANG=C.UTF-8,
// Chromium reports `en-US@posix`, which Intl rejects ("Invalid language tag"), and uPlot would fail to load.
// Such a tag is replaced by its valid part (`en-US`), or by `en-US` when nothing of it is valid.
'use strict';

(() => {
  const valid = (tag) => {
    try {
      return Intl.getCanonicalLocales(tag)[0];
    } catch {
      return undefined;
    }
  };
  const usable = (tag) => valid(tag) || valid(String(tag).split(/[@.]/)[0]) || 'en-US';
  const language = navigator.language;
  if (valid(language) === undefined) {
    const languages = (navigator.languages || [language]).map(usable);
    Object.defineProperty(navigator, 'language', { value: usable(language), configurable: true });
    Object.defineProperty(navigator, 'languages', {
      value: Object.freeze([...new Set(languages)]),
      configurable: true,
    });
  }
})();
