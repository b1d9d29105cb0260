//! The catalogue of agent frameworks, MCP SDKs and LLM SDKs, per ecosystem.
//! A trailing `*` matches a family (`langchain-*`, `@langchain/*`).

/// A package ecosystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Ecosystem {
    PyPi,
    Npm,
    Crates,
    Go,
    Maven,
    NuGet,
}

impl Ecosystem {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Ecosystem::PyPi => "pypi",
            Ecosystem::Npm => "npm",
            Ecosystem::Crates => "crates.io",
            Ecosystem::Go => "go",
            Ecosystem::Maven => "maven",
            Ecosystem::NuGet => "nuget",
        }
    }
}

const PYPI: &[(&str, &str)] = &[
    ("langchain", "LangChain"),
    ("langchain-*", "LangChain"),
    ("langgraph", "LangGraph"),
    ("langgraph-*", "LangGraph"),
    ("crewai", "CrewAI"),
    ("crewai-*", "CrewAI"),
    ("autogen", "AutoGen/AG2"),
    ("pyautogen", "AutoGen/AG2"),
    ("autogen-*", "AutoGen/AG2"),
    ("ag2", "AutoGen/AG2"),
    ("llama-index", "LlamaIndex"),
    ("llama-index-*", "LlamaIndex"),
    ("openai-agents", "OpenAI Agents SDK"),
    ("semantic-kernel", "Semantic Kernel"),
    ("pydantic-ai", "Pydantic AI"),
    ("pydantic-ai-*", "Pydantic AI"),
    ("smolagents", "smolagents"),
    ("mcp", "MCP SDK"),
    ("fastmcp", "FastMCP"),
    ("anthropic", "Anthropic SDK"),
    ("claude-agent-sdk", "Claude Agent SDK"),
    ("claude-code-sdk", "Claude Agent SDK"),
    ("openai", "OpenAI SDK"),
    ("google-genai", "Google Gen AI SDK"),
    ("google-generativeai", "Google Gen AI SDK"),
    ("google-adk", "Google ADK"),
    ("strands-agents", "Strands Agents"),
    ("agno", "Agno"),
    ("phidata", "Agno"),
    ("haystack-ai", "Haystack"),
    ("dspy", "DSPy"),
    ("dspy-ai", "DSPy"),
    ("letta", "Letta"),
    ("litellm", "LiteLLM"),
    ("mistralai", "Mistral SDK"),
    ("cohere", "Cohere SDK"),
    ("groq", "Groq SDK"),
];

const NPM: &[(&str, &str)] = &[
    ("langchain", "LangChain"),
    ("@langchain/langgraph", "LangGraph"),
    ("@langchain/*", "LangChain"),
    ("llamaindex", "LlamaIndex"),
    ("@llamaindex/*", "LlamaIndex"),
    ("@openai/agents", "OpenAI Agents SDK"),
    ("@openai/agents-*", "OpenAI Agents SDK"),
    ("openai", "OpenAI SDK"),
    ("@anthropic-ai/claude-agent-sdk", "Claude Agent SDK"),
    ("@anthropic-ai/claude-code", "Claude Code"),
    ("@anthropic-ai/sdk", "Anthropic SDK"),
    ("@modelcontextprotocol/sdk", "MCP SDK"),
    ("@modelcontextprotocol/server-*", "MCP server"),
    ("fastmcp", "FastMCP"),
    ("mcp-remote", "MCP bridge"),
    ("ai", "Vercel AI SDK"),
    ("@ai-sdk/*", "Vercel AI SDK"),
    ("@mastra/core", "Mastra"),
    ("@google/genai", "Google Gen AI SDK"),
    ("@google/generative-ai", "Google Gen AI SDK"),
    ("@google/adk", "Google ADK"),
    ("@mistralai/mistralai", "Mistral SDK"),
    ("cohere-ai", "Cohere SDK"),
    ("groq-sdk", "Groq SDK"),
    ("@strands-agents/sdk", "Strands Agents"),
    ("@voltagent/core", "VoltAgent"),
];

const CRATES: &[(&str, &str)] = &[
    ("rmcp", "MCP SDK"),
    ("rig-core", "Rig"),
    ("async-openai", "OpenAI SDK"),
    ("langchain-rust", "LangChain"),
    ("llm-chain", "llm-chain"),
    ("swiftide", "Swiftide"),
    ("genai", "genai"),
    ("openai-api-rs", "OpenAI SDK"),
];

const GO: &[(&str, &str)] = &[
    ("github.com/modelcontextprotocol/go-sdk", "MCP SDK"),
    ("github.com/mark3labs/mcp-go", "MCP SDK"),
    ("github.com/tmc/langchaingo", "LangChain"),
    ("github.com/openai/openai-go", "OpenAI SDK"),
    ("github.com/openai/openai-go/*", "OpenAI SDK"),
    ("github.com/anthropics/anthropic-sdk-go", "Anthropic SDK"),
    ("github.com/sashabaranov/go-openai", "OpenAI SDK"),
    ("google.golang.org/genai", "Google Gen AI SDK"),
    ("google.golang.org/adk", "Google ADK"),
    ("github.com/firebase/genkit/go", "Genkit"),
    ("github.com/cloudwego/eino", "Eino"),
];

const MAVEN: &[(&str, &str)] = &[
    ("dev.langchain4j:*", "LangChain4j"),
    ("org.springframework.ai:*", "Spring AI"),
    ("io.modelcontextprotocol.sdk:*", "MCP SDK"),
    ("com.openai:openai-java", "OpenAI SDK"),
    ("com.anthropic:anthropic-java", "Anthropic SDK"),
    ("com.google.adk:*", "Google ADK"),
    ("com.google.genai:google-genai", "Google Gen AI SDK"),
    ("com.microsoft.semantic-kernel:*", "Semantic Kernel"),
];

const NUGET: &[(&str, &str)] = &[
    ("Microsoft.SemanticKernel", "Semantic Kernel"),
    ("Microsoft.SemanticKernel.*", "Semantic Kernel"),
    ("Microsoft.Agents.AI", "Microsoft Agent Framework"),
    ("Microsoft.Agents.AI.*", "Microsoft Agent Framework"),
    ("Microsoft.Extensions.AI", "Microsoft.Extensions.AI"),
    ("Microsoft.Extensions.AI.*", "Microsoft.Extensions.AI"),
    ("ModelContextProtocol", "MCP SDK"),
    ("ModelContextProtocol.*", "MCP SDK"),
    ("OpenAI", "OpenAI SDK"),
    ("Azure.AI.OpenAI", "OpenAI SDK"),
    ("Anthropic", "Anthropic SDK"),
    ("Anthropic.SDK", "Anthropic SDK"),
    ("AutoGen", "AutoGen/AG2"),
    ("AutoGen.*", "AutoGen/AG2"),
    ("Microsoft.AutoGen.*", "AutoGen/AG2"),
    ("LangChain", "LangChain"),
    ("LangChain.*", "LangChain"),
];

/// The framework a package is part of, if it is in the catalogue.
pub(crate) fn framework(ecosystem: Ecosystem, package: &str) -> Option<&'static str> {
    let (table, name) = match ecosystem {
        // PyPI names compare normalised (PEP 503): case and `_`/`.` ignored.
        Ecosystem::PyPi => (PYPI, package.to_ascii_lowercase().replace(['_', '.'], "-")),
        Ecosystem::Npm => (NPM, package.to_owned()),
        Ecosystem::Crates => (CRATES, package.replace('_', "-")),
        Ecosystem::Go => (GO, package.to_owned()),
        Ecosystem::Maven => (MAVEN, package.to_owned()),
        Ecosystem::NuGet => (NUGET, package.to_owned()),
    };
    let matches = |pattern: &str| match pattern.strip_suffix('*') {
        Some(prefix) if ecosystem == Ecosystem::NuGet => name
            .to_ascii_lowercase()
            .starts_with(&prefix.to_ascii_lowercase()),
        Some(prefix) => name.starts_with(prefix),
        None if ecosystem == Ecosystem::NuGet => name.eq_ignore_ascii_case(pattern),
        None => name == pattern,
    };
    table
        .iter()
        .find(|(pattern, _)| matches(pattern))
        .map(|(_, label)| *label)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue() {
        assert_eq!(
            framework(Ecosystem::PyPi, "LangChain_Core"),
            Some("LangChain")
        );
        assert_eq!(
            framework(Ecosystem::PyPi, "llama_index.core"),
            Some("LlamaIndex")
        );
        assert_eq!(framework(Ecosystem::PyPi, "requests"), None);
        assert_eq!(
            framework(Ecosystem::Npm, "@langchain/langgraph"),
            Some("LangGraph")
        );
        assert_eq!(
            framework(Ecosystem::Npm, "@langchain/core"),
            Some("LangChain")
        );
        assert_eq!(framework(Ecosystem::Npm, "aim"), None);
        assert_eq!(framework(Ecosystem::Crates, "rmcp"), Some("MCP SDK"));
        assert_eq!(
            framework(Ecosystem::Go, "github.com/openai/openai-go/v2"),
            Some("OpenAI SDK")
        );
        assert_eq!(
            framework(Ecosystem::Maven, "dev.langchain4j:langchain4j-open-ai"),
            Some("LangChain4j")
        );
        assert_eq!(
            framework(Ecosystem::NuGet, "microsoft.semantickernel.core"),
            Some("Semantic Kernel")
        );
    }
}
