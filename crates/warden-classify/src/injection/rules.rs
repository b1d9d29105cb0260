//! The rules of the phrase scanner: what is an instruction aimed at the
//! model or a fake role marker, as anchors and short ASCII regexes.
//!
//! A rule is tried where one of its lowercase anchors starts (found by one
//! Aho-Corasick pass over a lowercased copy of the text) or, for markers
//! that start with `<`, that are `[…]`, or that start a line, where the
//! `memchr` pass finds `<`, `]` or a line break and one of its `lead`
//! prefixes follows. Its `after` regex must match
//! from there and its `before` regex, if any, must end right there. Patterns
//! are written with a space for "one or more separators" (whitespace,
//! no-break space, `*`, `_`, `"`, `` ` ``, `~`, `-`) and `'` for a straight or
//! curly apostrophe; both are expanded when the rules are compiled.
//!
//! Anchors are chosen to be rare in ordinary text and at least four bytes
//! long (a shorter one shortens the prefilter's fingerprints for all of
//! them, which more than doubled its cost), and kept few: the automaton's SIMD prefilter costs about 0.08
//! instructions per byte for each anchor (measured on 8 MiB of real
//! documentation), and most for anchors that start like common words
//! (`the `, `use`); so turn markers and headings hang off line starts and
//! HTML attributes off the tags the `memchr` pass finds (anchoring them as
//! `\nhuman:` and so on cost more on prose than checking every line start).
//! `send ` rather than `send` keeps `sends` and `sending` from waking the
//! regexes.

use regex::bytes::{Regex, RegexBuilder};

use super::InjectionKind;
use crate::ClassifyError;

/// What a rule checks beyond its regexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Extra {
    None,
    /// The match starts a line (after optional spaces).
    LineStart,
    /// A turn marker: decided once all markers in the text are known.
    Turn,
    /// Sending secrets counts only with a covert or model-directed cue nearby.
    Covert,
    /// The `before` regex is context only: the flag starts at the anchor.
    Context,
    /// The last word of the match must be a misspelling (at most two edits)
    /// of `instructions` or a word like it.
    Fuzzy,
}

pub(super) struct Rule {
    /// Lowercase words the Aho-Corasick pass finds; the rule is tried where
    /// one starts.
    pub(super) anchors: &'static [&'static str],
    /// Or a byte the `memchr` pass finds (`<`, `]`, `\n`), the rule then
    /// being tried where one of `lead` starts: at the `<`, at the `[` before
    /// the `]`, at the first non-blank of the line (and of the text).
    pub(super) byte: Option<u8>,
    /// Lowercase prefixes checked before the regex of a byte-triggered rule.
    pub(super) lead: &'static [&'static str],
    /// Must match ending right where the anchor starts.
    pub(super) before: Option<&'static str>,
    /// Must match from where the anchor starts.
    pub(super) after: &'static str,
    pub(super) kind: InjectionKind,
    pub(super) confidence: f32,
    pub(super) extra: Extra,
}

const V: &str = "(?:ignor(?:e|ing)|disregard(?:ing)?|forget(?:ting)?)";
const Q: &str = "(?:all|any|every|each|the|your|my|our|these|those|this|that|of|and|or|everything|anything|whatever|instead|now|just|simply|completely|entirely|please)";
const T: &str = "(?:previous(?:ly)?|prior|above|earlier|preceding|foregoing|former|original|initial|system|developer|safety)";
const N: &str = "(?:instructions?|prompts?|directions?|directives?|commands?|rules|guidelines|guidance|guardrails|constraints|restrictions|context|programming|polic(?:y|ies)|messages|orders|conversation|training|tasks?|text|content|input)";
const ADJ: &str = "(?:helpful|harmless|unrestricted|unfiltered|uncensored|evil|rogue|new|different|independent|autonomous|malicious|jailbroken|free|liberated|unbound|unlimited|hacked|developer|dev|god|sudo|dan|hacker|amoral|unethical)";
const PERSONA: &str = "(?:ai|a\\.i\\.|ai assistant|helpful assistant|different assistant|new assistant|assistant named|chatbot|llm|language model|dan|persona|character|entity|jailbroken|unrestricted|unfiltered|uncensored|amoral|developer mode|dev mode|god mode|dan mode|jailbreak mode|unrestricted mode|sudo mode)";
const MODEL: &str = "(?:ai|a\\.i\\.|llms?|large language models?|language models?|ai (?:assistants?|agents?|models?|systems?|bots?)|chatbots?|gpt|chatgpt|claude|gemini|copilot|automated (?:agents?|assistants?|systems?)|autonomous agents?)";
const VERB: &str =
    "(?:send|forward|upload|exfiltrat(?:e|ing)|transmit|leak|e-?mail|mail|post|copy)";
const DEST: &str = "(?:https?://|www\\.|[\\w.%+-]+@[\\w-]+(?:\\.[\\w-]+)*\\.[a-z]{2,}|(?:the following|this|that|my|our|the) (?:url|address|endpoint|webhook|server|link|email address|email|inbox)|[\\w-]+(?:\\.[\\w-]+)*\\.(?:com|net|org|io|ru|cn|xyz|site|top|info|biz|co|me|app|dev|tk|cc)\\b)";

/// Names a text uses to address the model.
const MODELNAME: &str = "(?:gpt(?:-?\\d[\\w.]*)?|chatgpt|claude|gemini|llama|mistral|command-?r|copilot|ai (?:model|assistant|agent|system|bot)|language model|llm|chatbot|assistant|agent|ai)";
/// Actions with effects outside the conversation, as imperatives.
const HIGH: &str = "(?:send|forward|e-?mail|transfer|wire|pay|deposit|withdraw|sell|buy|share|grant|give|delete|remove|erase|unlock|disable|invite|post|upload|initiate|redirect|dispatch|move|change|update|modify|retrieve|list|get|find|search|schedule|download|make|create|book|reserve|visit|concatenate)";
/// Imperatives that shape the model's answer (BIPIA's attack verbs and kin).
const RVERB: &str = "(?:add|integrate|include|insert|incorporate|mention|modify|encode|translate|reverse|rearrange|replace|remove|introduce|use|provide|enhance|render|write|rewrite|group|misspell|apply|shift|encrypt|format|append|embed|spread|put|end|start|begin|conclude|sign|output|print|say|state|recommend|promote|advertise|link|anagram|substitute|swap|convert|transform|spell|capitali[sz]e|alternate|emphasi[sz]e|highlight|compose|express)";
/// Where a sentence may start, as the end of a `before` window.
const SENT: &str = "(?:\\A|[\\n.!?:;\">\\]\\)*#-]|')\\s*";
/// Destinations outside the conversation, including `my new email address`.
const DEST2: &str = "(?:(?:my|the|this|our|their|a) (?:\\w+ ){0,3}(?:e-?mail(?: address)?|address|inbox|website|url|server|webhook|endpoint|account)|{DEST})";
/// A character of the same sentence: a `.` counts only before a letter
/// (`.hidden`, `example.com`).
const IN: &str = "(?:[^.!?\\n]|[.!?]\\w|[.!?]')";
/// Money moved to an account: `transfer $3,000 to account number …`.
const MONEY: &str = "(?:(?:transfer|wire|pay|send|deposit|withdraw|move)\\b{IN}{0,40}?(?:\\$\\s?\\d|\\d[\\d,.]*\\s?(?:usd|eur|dollars|euros|bitcoins?|btc)\\b){IN}{0,80}?\\b(?:to|into) (?:the |my |this |a )?(?:account|iban|wallet|bank|[a-z]{2}\\d{2}))";
/// After a header that claims authority (`System message:`), the start of
/// an instruction: an action, `you`, `the assistant`, `ignore`, `priority`.
const CONT: &str = "\\s*(?:[:\\)\\]!-]|\\xE2\\x80\\x94)\\s*(?:(?:please|now|immediately|first|also|kindly) )*(?:{HIGH}|{RVERB}|you\\b|the (?:assistant|agent|ai|model)\\b|ignore|disregard|forget|do\\b|i (?:changed|need|want|have)\\b|priority\\b|override\\b|new instructions?\\b|(?:l'|el |der |il |o )?(?:assistant|asistente|assistente|assistenten)\\b|vergiss|ignorier|ignorez|oubliez|olvida|ignora|\\xE5\\xBF\\x98|\\xE5\\xBF\\xBD|\\xE4\\xBD\\xA0)";
/// A word that does not start with `you` (so not `your log files`).
const NOTYOU: &str = "(?:[a-xz0-9_]\\w*|y(?:[a-np-z0-9_]\\w*)?|yo(?:[a-tv-z0-9_]\\w*)?)";
/// Money, accounts, addresses: what an attacker's instruction points at.
const TARGET: &str = "(?:[\\w.%+-]+@[\\w-]+(?:\\.[\\w-]+)*\\.[a-z]{2,}|https?://|www\\.|\\$\\s?\\d|\\d[\\d,.]*\\s?(?:usd|eur|dollars|euros|bitcoins?|btc)\\b|\\b[a-z]{2}\\d{2}[a-z0-9]{12,30}\\b|\\baccount (?:number|no\\.?|id)\\b)";

const SEND_ANCHORS: &[&str] = &[
    "send ",
    "forward ",
    "upload ",
    "exfiltrat",
    "mail ",
    "post ",
    "copy ",
    "leak ",
    "transmit ",
];
pub(super) const OVERRIDE_ANCHORS: &[&str] = &["ignor", "disregard", "forget"];

/// A rule tried where one of `anchors` starts.
pub(super) const fn anchored(
    anchors: &'static [&'static str],
    before: Option<&'static str>,
    after: &'static str,
    kind: InjectionKind,
    confidence: f32,
) -> Rule {
    Rule {
        byte: None,
        lead: &[],
        anchors,
        before,
        after,
        kind,
        confidence,
        extra: Extra::None,
    }
}

/// A rule tried where `byte` is found and one of `lead` follows.
pub(super) const fn at_byte(
    byte: u8,
    lead: &'static [&'static str],
    after: &'static str,
    confidence: f32,
    extra: Extra,
) -> Rule {
    Rule {
        byte: Some(byte),
        lead,
        anchors: &[],
        before: None,
        after,
        kind: InjectionKind::RoleMarker,
        confidence,
        extra,
    }
}

/// A rule tried at the start of a sentence (of the text, a line, or after
/// `.`, `!`, `?`, `:`, `;` or `>`, past quotes and markdown) whose first word
/// starts one of `lead` (each at least four bytes, lowercase).
pub(super) const fn at_sentence(
    lead: &'static [&'static str],
    after: &'static str,
    kind: InjectionKind,
    confidence: f32,
) -> Rule {
    Rule {
        byte: Some(b'.'),
        lead,
        anchors: &[],
        before: None,
        after,
        kind,
        confidence,
        extra: Extra::None,
    }
}

/// The rules; `{V}`, `{Q}`, … name the fragments above.
pub(super) const RULES: &[Rule] = &[
    // ignore (all) previous instructions
    Rule {
        byte: None,
        lead: &[],
        anchors: OVERRIDE_ANCHORS,
        before: None,
        after: "^{V}(?: {Q}){0,5} {T}(?: (?:{Q}|{T})){0,3}(?: \\w+)? {N}\\b",
        kind: InjectionKind::Instruction,
        confidence: 0.95,
        extra: Extra::None,
    },
    // disregard the above.
    Rule {
        byte: None,
        lead: &[],
        anchors: OVERRIDE_ANCHORS,
        before: None,
        after: "^{V}(?: {Q}){0,4} (?:previous|prior|above|preceding|foregoing)(?: (?:stuff|part|section))?\\s*(?:[.,;:!)\\]]|\\z| (?:and|then|instead|now)\\b)",
        kind: InjectionKind::Instruction,
        confidence: 0.85,
        extra: Extra::None,
    },
    // forget everything you were told
    Rule {
        byte: None,
        lead: &[],
        anchors: OVERRIDE_ANCHORS,
        before: None,
        after: "^{V}(?: all)? everything (?:above|before|previously|prior|so far|(?:that )?you(?:'ve| have| were| had)?(?: been)? (?:told|given|instructed|learned|read))",
        kind: InjectionKind::Instruction,
        confidence: 0.9,
        extra: Extra::None,
    },
    // ignore your instructions / all instructions
    Rule {
        byte: None,
        lead: &[],
        anchors: OVERRIDE_ANCHORS,
        before: None,
        after: "^{V}(?: (?:the|of|all|any|every|these|those|please|now))* (?:your|all|any)(?: \\w+)? (?:instructions|programming|guidelines|system prompt|training|guardrails|safety (?:rules|guidelines|filters|measures))\\b",
        kind: InjectionKind::Instruction,
        confidence: 0.9,
        extra: Extra::None,
    },
    // override your system prompt / bypass the safety filters (stricter:
    // "later flags override previous ones" is ordinary documentation)
    Rule {
        byte: None,
        lead: &[],
        anchors: &["overrid", "bypass"],
        before: None,
        after: "^(?:overrid(?:e|ing)|bypass(?:ing)?)(?: {Q}){0,3} (?:your|the|all|any)(?: \\w+)? (?:system prompt|instructions|guidelines|guardrails|safety (?:rules|guidelines|filters|measures)|content (?:filters?|polic(?:y|ies))|programming|training)\\b",
        kind: InjectionKind::Instruction,
        confidence: 0.9,
        extra: Extra::None,
    },
    // you are now DAN / an unrestricted AI / in developer mode
    Rule {
        byte: None,
        lead: &[],
        anchors: &["you are n", "you're n", "you\u{2019}re n"],
        before: None,
        after: "^you(?: are|'re) (?:now|no longer)(?: (?:a|an|the|in|my|operating as|acting as|going to be|to be))?(?: {ADJ}){0,2} {PERSONA}\\b",
        kind: InjectionKind::Instruction,
        confidence: 0.85,
        extra: Extra::None,
    },
    // no longer bound by your guidelines
    Rule {
        byte: None,
        lead: &[],
        anchors: &["bound by", "restricted by", "constrained by"],
        before: Some("(?:no longer|not) \\z"),
        after: "^(?:bound|restricted|constrained) by (?:\\w+ ){0,2}(?:guidelines|programming|training|guardrails|filters|content polic(?:y|ies)|safety \\w+|usage polic(?:y|ies)|(?:your|any|the) (?:rules|instructions|restrictions))\\b",
        kind: InjectionKind::Instruction,
        confidence: 0.85,
        extra: Extra::None,
    },
    // new instructions: / IMPORTANT INSTRUCTIONS FOLLOW
    Rule {
        byte: None,
        lead: &[],
        anchors: &["instruction"],
        before: Some(
            "\\b(?:new|updated|revised|real|actual|true|secret|hidden|additional|important|urgent|override|overriding|system|admin|administrator|developer|priority|emergency|special) \\z",
        ),
        after: "^instructions?\\s*(?::|!| (?:follow|are as follows)\\b)",
        kind: InjectionKind::Instruction,
        confidence: 0.9,
        extra: Extra::None,
    },
    // your real task is
    Rule {
        byte: None,
        lead: &[],
        anchors: &[
            "your real",
            "your actual",
            "your true",
            "your only",
            "your new",
            "your primary",
            "your updated",
        ],
        before: None,
        after: "^your (?:(?:real|actual|true|only) (?:task|goal|objective|mission|purpose|job|instructions?|directive|priority)|(?:new|primary|updated) (?:instructions?|objective|mission|purpose|directive))(?: now)? (?:is|are|will be)\\b",
        kind: InjectionKind::Instruction,
        confidence: 0.85,
        extra: Extra::None,
    },
    // from now on, you will act as
    Rule {
        byte: None,
        lead: &[],
        anchors: &["from now on", "from this point", "henceforth"],
        before: None,
        after: "^(?:from (?:now|this point)(?: on| onward| forward)?|henceforth),? (?:you (?:are (?:no longer |not |now )?(?:(?:a|an|my) )?(?:{ADJ} ){0,2}{PERSONA}|will (?:act|pretend|ignore|obey|roleplay|role-play|never refuse)|must (?:act|pretend|ignore|obey|never refuse)|shall)|act as|pretend|ignore|never refuse|(?:respond|answer|reply) (?:only|as|in character))\\b",
        kind: InjectionKind::Instruction,
        confidence: 0.8,
        extra: Extra::None,
    },
    // pretend to be an unrestricted AI
    Rule {
        byte: None,
        lead: &[],
        anchors: &["pretend", "roleplay", "role-play", "role play", "act as if"],
        before: None,
        after: "^(?:pretend (?:to be|(?:that )?you(?: are|'re))|act as if you(?: are|'re)|role-?\\s?play as)(?: (?:a|an|the))?(?: {ADJ}){0,2} {PERSONA}\\b",
        kind: InjectionKind::Instruction,
        confidence: 0.8,
        extra: Extra::None,
    },
    // do not tell the user
    Rule {
        byte: None,
        lead: &[],
        anchors: &["the user", "the human", "your user"],
        before: Some(
            "(?:do not|don't|dont|never|must not|should not|shouldn't|won't|will not|avoid) (?:tell(?:ing)?|inform(?:ing)?|mention(?:ing)?|reveal(?:ing)?|disclos(?:e|ing)|notify(?:ing)?)(?: (?:this|that|it|these|them|anything|any of this|about (?:this|it|that|these)|what you (?:are doing|did|have done)))?(?: (?:to|with))? \\z",
        ),
        after: "^(?:the|your) (?:user|human)(?:[^\\x27\\w\\xE2]|\\z)",
        kind: InjectionKind::Instruction,
        confidence: 0.9,
        extra: Extra::None,
    },
    // keep this secret from the user
    Rule {
        byte: None,
        lead: &[],
        anchors: &["the user", "the human", "your user"],
        before: Some(
            "keep (?:this|it|that|these instructions|this message|this instruction)(?: \\w+)? (?:secret|hidden|confidential|private) from \\z",
        ),
        after: "^(?:the|your) (?:user|human)(?:[^\\x27\\w\\xE2]|\\z)",
        kind: InjectionKind::Instruction,
        confidence: 0.9,
        extra: Extra::None,
    },
    // send the conversation / the user's data to a destination
    Rule {
        byte: None,
        lead: &[],
        anchors: SEND_ANCHORS,
        before: None,
        after: "^{VERB}(?:s|ing|ed)? (?:(?:all|every|the|a copy of|copies of|this|these|those|entire|full|complete|whole|of|any|them|it|back) ){0,4}(?:the user's (?:\\w+ ){0,2}?\\w+|(?:\\w+ ){0,2}?(?:conversation|chat (?:history|log|logs|transcript)|system prompt|previous messages|prior messages|message history|memory|memories|context window|this session))\\b[^\\n]{0,80}? (?:to|into) {DEST}",
        kind: InjectionKind::Instruction,
        confidence: 0.9,
        extra: Extra::None,
    },
    // send the API keys to … silently
    Rule {
        byte: None,
        lead: &[],
        anchors: SEND_ANCHORS,
        before: None,
        after: "^{VERB}(?:s|ing|ed)? (?:(?:all|every|the|any|your|my|our|their|these|those|this|of|stored|saved|them|it) ){0,4}(?:\\w+ ){0,2}?(?:passwords?|credentials?|api[ _-]?keys?|secrets?|tokens?|private keys?|ssh keys?|access keys?|session cookies?|cookies|environment variables|env vars|\\.env(?: files?)?|keys)\\b[^\\n]{0,80}? (?:to|into) {DEST}",
        kind: InjectionKind::Instruction,
        confidence: 0.85,
        extra: Extra::Covert,
    },
    // if you are an AI, …
    Rule {
        byte: None,
        lead: &[],
        anchors: &["if you"],
        before: None,
        after: "^if you(?: are|'re) (?:an? |the )?(?:{MODEL}|ai-powered \\w+)(?:\\s*[,:;.]| (?:reading|processing|summari[sz]ing|parsing|analy[sz]ing|seeing|and|then|you|please|must|should|tasked|asked|instructed)\\b)",
        kind: InjectionKind::Instruction,
        confidence: 0.85,
        extra: Extra::None,
    },
    // note to the AI
    Rule {
        byte: None,
        lead: &[],
        anchors: &[
            "note to",
            "note for",
            "message to",
            "message for",
            "attention",
            "reminder",
            "instruction",
        ],
        before: None,
        after: "^(?:note|message|instructions?|attention|reminder)(?: (?:to|for))?\\s*:? (?:the (?:assistant|agent|model|bot)|(?:the |all |any )?{MODEL})\\b",
        kind: InjectionKind::Instruction,
        confidence: 0.85,
        extra: Extra::None,
    },
    // <|im_start|>, <|system|>, <|eot_id|>
    Rule {
        byte: Some(b'<'),
        lead: &["<|"],
        anchors: &[],
        before: None,
        after: "^<\\|\\s*[a-z_]{2,32}\\s*\\|>",
        kind: InjectionKind::RoleMarker,
        confidence: 0.95,
        extra: Extra::None,
    },
    // [INST], <<SYS>> (exact case: only those are the model's tokens, and
    // `[Inst]` is a Rust slice type), [SYSTEM], [system note]
    Rule {
        byte: Some(b']'),
        lead: &["[inst]", "[/inst]", "[system", "[/system"],
        anchors: &[],
        before: None,
        after: "^(?:(?-i:\\[/?INST\\])|\\[/?system(?: (?:message|note|prompt|instructions?|override|update|notice|command|alert))?\\])",
        kind: InjectionKind::RoleMarker,
        confidence: 0.9,
        extra: Extra::None,
    },
    Rule {
        byte: Some(b'<'),
        lead: &["<<sys>>", "<</sys>>"],
        anchors: &[],
        before: None,
        after: "^(?-i:<</?SYS>>)",
        kind: InjectionKind::RoleMarker,
        confidence: 0.9,
        extra: Extra::None,
    },
    // ### System: / ### Instruction:
    Rule {
        byte: Some(b'\n'),
        lead: &["##"],
        anchors: &[],
        before: None,
        after: "^#{2,6}\\s*(?:system(?: prompt| message)?|instructions?|assistant|human|developer)\\s*:",
        kind: InjectionKind::RoleMarker,
        confidence: 0.8,
        extra: Extra::LineStart,
    },
    // </tool_result>, <system>, <function_results>
    Rule {
        byte: Some(b'<'),
        lead: &[
            "<tool_",
            "</tool_",
            "<function_",
            "</function_",
            "<system",
            "</system",
            "<instructions>",
            "</instructions>",
        ],
        anchors: &[],
        before: None,
        after: "^</?(?:tool_(?:results?|response|output|call|calls|use)|function_(?:results?|calls?|response)|system(?:_prompt|_message|_instructions)?|instructions)(?:\\s[^<>\\n]{0,80})?>",
        kind: InjectionKind::RoleMarker,
        confidence: 0.9,
        extra: Extra::None,
    },
    // Human: / Assistant: turns
    Rule {
        byte: Some(b'\n'),
        lead: &["human:", "assistant:", "system:", "user:"],
        anchors: &[],
        before: None,
        after: "^(?:human|assistant|system|user):",
        kind: InjectionKind::RoleMarker,
        confidence: 0.85,
        extra: Extra::Turn,
    },
];

/// Words that make sending secrets an instruction to the model.
pub(super) const COVERT: &str = "\\b(?:silently|secretly|quietly|covertly|immediately|without (?:telling|asking|informing|notifying|alerting)|(?:do not|don't|never) (?:tell|inform|mention|notify)|as an ai|ai (?:agent|assistant)|assistant|agent)\\b";

/// Hidden content that speaks to the model: `AI assistant: …`, `LLMs, …`,
/// `Note to the assistant`.
pub(super) const ADDRESSED: &str = "(?:^\\s*(?:assistants?|agents?|ai(?: assistants?| agents?)?|llms?|chatbots?)\\s*:\\s*\\w|(?:\\b{MODEL}|\\bthe (?:assistant|agent|model|bot)|^\\s*(?:assistants?|agents?))\\s*[:,]\\s*(?:please |you |always |never |do not |don't )?(?:must|should|please|always|never|do|include|send|reply|respond|say|tell|output|print|write|add|recommend|summari[sz]e|mention|describe|execute|run|call|visit|click|fetch|ignore|use|append|insert|state|rate|rank|praise|claim)\\b)";

const SEP: &str = "(?:[\\s*_\"`~-]|\\xC2\\xA0)+";
const APOS: &str = "(?:'|\\xE2\\x80\\x99)";

/// A pattern with its fragments, separators and apostrophes expanded.
fn expand(pattern: &str) -> String {
    let fragments = [
        ("{V}", V),
        ("{Q}", Q),
        ("{T}", T),
        ("{N}", N),
        ("{ADJ}", ADJ),
        ("{PERSONA}", PERSONA),
        ("{MODEL}", MODEL),
        ("{VERB}", VERB),
        ("{MODELNAME}", MODELNAME),
        ("{SENT}", SENT),
        ("{DEST2}", DEST2),
        ("{TARGET}", TARGET),
        ("{NOTYOU}", NOTYOU),
        ("{CONT}", CONT),
        ("{MONEY}", MONEY),
        ("{IN}", IN),
        ("{HIGH}", HIGH),
        ("{RVERB}", RVERB),
        ("{DEST}", DEST),
    ];
    let mut p = pattern.to_owned();
    for (name, value) in fragments {
        p = p.replace(name, value);
    }
    p.replace('\'', "\u{0}")
        .replace(' ', SEP)
        .replace('\u{0}', APOS)
}

pub(super) fn compile(pattern: &str) -> Result<Regex, ClassifyError> {
    RegexBuilder::new(&expand(pattern))
        .unicode(false)
        .case_insensitive(true)
        .build()
        .map_err(|e| ClassifyError::Prefilter(format!("injection pattern `{pattern}`: {e}")))
}
